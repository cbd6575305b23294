namespace WavFusion.Core.Checkpoints;

/// <summary>
/// Ownership while a model is loaded: a module (or anything disposable) that fails to load, move or be
/// wrapped is disposed before the exception leaves, so a bad checkpoint never leaks native memory.
/// </summary>
public static class ModuleLoading
{
    /// <summary>Builds a module and runs <paramref name="load"/> on it; returns it, or disposes it if loading throws.</summary>
    public static T BuildAndLoad<T>(Func<T> build, Action<T> load) where T : IDisposable
    {
        ArgumentNullException.ThrowIfNull(build);
        ArgumentNullException.ThrowIfNull(load);
        return DisposeOnFailure(build(), module =>
        {
            load(module);
            return module;
        });
    }

    /// <summary>
    /// Hands <paramref name="owned"/> to <paramref name="take"/>, which returns what now owns it (or it itself);
    /// disposes it if <paramref name="take"/> throws. A null <paramref name="owned"/> is passed through.
    /// </summary>
    public static TResult DisposeOnFailure<T, TResult>(T owned, Func<T, TResult> take) where T : IDisposable?
    {
        ArgumentNullException.ThrowIfNull(take);
        try
        {
            return take(owned);
        }
        catch
        {
            owned?.Dispose();
            throw;
        }
    }
}
