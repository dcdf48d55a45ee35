using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Actors;

/// <summary>
/// Liveness: a process is a member while it holds its <c>members/{id}.lock</c> (an exclusive file lock
/// the kernel releases on any exit, kill -9 included).
/// </summary>
public sealed partial class ActorCluster
{
    /// <summary>An exclusive lock on <paramref name="path"/> if nobody holds one, else null.</summary>
    private static FileStream? TryLock(string path)
    {
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Members whose process holds its member lock; files of dead processes are removed.</summary>
    private List<ClusterMember> LiveMembers()
    {
        var live = new List<ClusterMember>();
        foreach (var file in Directory.EnumerateFiles(MembersFolder, "*.json"))
        {
            if (ReadJson<ClusterMember>(file) is not { } member)
            {
                continue;
            }

            var lockPath = Path.Combine(MembersFolder, member.Id + ".lock");
            if (member.Id == MemberId)
            {
                live.Add(member);
                continue;
            }

            // The member file is written only after its lock is held: a lock we can take means its process is gone.
            if (TryLock(lockPath) is { } stale)
            {
                stale.Dispose();
                TryDelete(file);
                TryDelete(lockPath);
                TryDelete(Path.Combine(AcksFolder, member.Id));
                _log.LogInformation("Actor placement: member {Member} (pid {Pid}) is gone.", member.Id, member.Pid);
                continue;
            }

            live.Add(member);
        }

        return live;
    }
}
