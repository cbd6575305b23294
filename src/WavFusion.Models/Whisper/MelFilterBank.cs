namespace WavFusion.Models.Whisper;

/// <summary>
/// The Slaney-style mel filter bank of librosa (<c>filters.mel(htk=False, norm="slaney")</c>), which
/// openai-whisper ships precomputed: triangles on the Slaney mel scale (linear below 1 kHz, logarithmic
/// above), each normalised to unit area so that bands keep equal energy.
/// </summary>
public static class MelFilterBank
{
    private const double LinearHzPerMel = 200.0 / 3.0;
    private const double BreakHz = 1000.0;
    private const double BreakMel = BreakHz / LinearHzPerMel;
    private static readonly double LogStep = Math.Log(6.4) / 27.0;

    public static double HzToMel(double hz) =>
        hz < BreakHz ? hz / LinearHzPerMel : BreakMel + Math.Log(hz / BreakHz) / LogStep;

    public static double MelToHz(double mel) =>
        mel < BreakMel ? mel * LinearHzPerMel : BreakHz * Math.Exp(LogStep * (mel - BreakMel));

    /// <summary>Filter weights, row-major (nMels, nFft/2 + 1), from 0 Hz to Nyquist.</summary>
    public static float[] Create(int sampleRate, int nFft, int nMels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleRate);
        ArgumentOutOfRangeException.ThrowIfLessThan(nFft, 2);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(nMels);
        int nFreq = nFft / 2 + 1;
        double nyquist = sampleRate / 2.0;
        var fftHz = new double[nFreq];
        for (int i = 0; i < nFreq; i++) fftHz[i] = nyquist * i / (nFreq - 1);

        double melMax = HzToMel(nyquist);
        var edgeHz = new double[nMels + 2];
        for (int i = 0; i < edgeHz.Length; i++) edgeHz[i] = MelToHz(melMax * i / (nMels + 1));

        var weights = new float[nMels * nFreq];
        for (int m = 0; m < nMels; m++)
        {
            double lowWidth = edgeHz[m + 1] - edgeHz[m];
            double highWidth = edgeHz[m + 2] - edgeHz[m + 1];
            double areaNorm = 2.0 / (edgeHz[m + 2] - edgeHz[m]);
            for (int f = 0; f < nFreq; f++)
            {
                double rising = (fftHz[f] - edgeHz[m]) / lowWidth;
                double falling = (edgeHz[m + 2] - fftHz[f]) / highWidth;
                double w = Math.Max(0.0, Math.Min(rising, falling));
                weights[m * nFreq + f] = (float)(w * areaNorm);
            }
        }
        return weights;
    }
}
