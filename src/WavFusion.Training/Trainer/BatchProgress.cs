namespace WavFusion.Training.Trainer;

public enum BatchPhase
{
    Train,
    Validate,
}

/// <summary>Where an epoch stands: <paramref name="Done"/> of <paramref name="Total"/> items of the phase are through.</summary>
public sealed record BatchProgress(int Epoch, int Epochs, BatchPhase Phase, int Done, int Total);

/// <summary>An <see cref="IProgress{T}"/> that reports on the caller's thread, in order (unlike <see cref="Progress{T}"/>, which posts).</summary>
public sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
