using System.Runtime.CompilerServices;
using WavFusion.Core.Runtime;

namespace WavFusion.Tests.Infrastructure;

internal static class TestProcessSetup
{
    /// <summary>Tests run in parallel on two cores: libtorch's OpenMP threads must not spin (set before libtorch loads).</summary>
    [ModuleInitializer]
    internal static void Initialize() => OpenMpWaitPolicy.PreferPassive();
}
