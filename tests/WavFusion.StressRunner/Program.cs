using WavFusion.Core.Runtime;
using WavFusion.StressRunner;

// As in the app, before libtorch loads (see OpenMpWaitPolicy and NativeMemoryPolicy).
OpenMpWaitPolicy.PreferShortSpin();
NativeMemoryPolicy.RetainFreedMemory();

return StressRun.Execute(args, Console.Out, Console.Error);
