using System.Runtime.CompilerServices;

// The capture loop's device seam (IAlsaPcm) is internal; tests drive it with a device that overruns, which no
// ALSA plugin can do without a sound card.
[assembly: InternalsVisibleTo("WavFusion.Tests")]
