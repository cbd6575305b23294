using System.Runtime.CompilerServices;
using WavFusion.Core.Runtime;

namespace WavFusion.Tests.Infrastructure;

internal static class TestProcessSetup
{
    /// <summary>
    /// As in the app: libtorch's OpenMP threads spin only briefly (tests run in parallel on two cores; set before
    /// libtorch loads) and glibc keeps freed activation memory for the next forward.
    /// </summary>
    [ModuleInitializer]
    internal static void Initialize()
    {
        OpenMpWaitPolicy.PreferShortSpin();
        NativeMemoryPolicy.RetainFreedMemory();
    }
}
