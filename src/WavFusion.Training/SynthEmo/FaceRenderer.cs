namespace WavFusion.Training.SynthEmo;

/// <summary>The expression and nuisance of one frame; all lengths in pixels of a 64-pixel face, scaled to the frame size.</summary>
internal readonly record struct FacePose(
    double MouthCurve,
    double BrowTilt,
    double EyeOpen,
    double MouthOpen,
    double OffsetX,
    double OffsetY,
    int Speaker);

/// <summary>Draws a cartoon face into an RGB frame: head ellipse, eyes, brows and a mouth curve, antialiased by 2×2 supersampling.</summary>
internal static class FaceRenderer
{
    private static readonly (byte R, byte G, byte B)[] Skins = [(236, 196, 160), (198, 146, 108), (150, 104, 72), (245, 214, 184), (176, 124, 90)];
    private static readonly (byte R, byte G, byte B)[] Backgrounds = [(70, 110, 160), (150, 160, 170), (90, 140, 100), (170, 140, 110), (120, 100, 150)];

    public static byte[] Render(int size, FacePose pose)
    {
        var frame = new byte[size * size * 3];
        var skin = Skins[pose.Speaker % Skins.Length];
        var background = Backgrounds[pose.Speaker % Backgrounds.Length];
        double scale = size / 64.0;
        for (int py = 0; py < size; py++)
            for (int px = 0; px < size; px++)
            {
                double r = 0, g = 0, b = 0;
                for (int sy = 0; sy < 2; sy++)
                    for (int sx = 0; sx < 2; sx++)
                    {
                        // Face coordinates: 64 units across, origin at the head's centre.
                        double x = (px + 0.25 + 0.5 * sx) / scale - 32 - pose.OffsetX;
                        double y = (py + 0.25 + 0.5 * sy) / scale - 33 - pose.OffsetY;
                        var c = Shade(x, y, pose, skin, background);
                        r += c.R; g += c.G; b += c.B;
                    }
                int o = (py * size + px) * 3;
                frame[o] = (byte)Math.Round(r / 4);
                frame[o + 1] = (byte)Math.Round(g / 4);
                frame[o + 2] = (byte)Math.Round(b / 4);
            }
        return frame;
    }

    private static (double R, double G, double B) Shade(double x, double y, FacePose p, (byte R, byte G, byte B) skin, (byte R, byte G, byte B) background)
    {
        if ((x * x) / (22.0 * 22.0) + (y * y) / (27.0 * 27.0) > 1) return (background.R, background.G, background.B);
        (double, double, double) dark = (35, 28, 30);

        // Eyes at (±9, −6): ellipses whose height follows eye openness (a blink is openness near 0).
        double ex = Math.Abs(x) - 9, ey = y + 6;
        double eyeHeight = Math.Max(0.35, 4.2 * p.EyeOpen);
        if ((ex * ex) / 16.0 + (ey * ey) / (eyeHeight * eyeHeight) <= 1)
            return (ex * ex + ey * ey < 2.6 && eyeHeight > 1.5) ? dark : (250, 250, 250);

        // Brows: 10-unit bars above the eyes; positive tilt drops the inner ends (a frown's V).
        double bx = Math.Abs(x);
        if (bx is >= 4 and <= 14)
        {
            double inner = (14 - bx) / 10.0;
            double browY = -13 - 1.5 * (1 - p.EyeOpen) + p.BrowTilt * 4 * inner;
            if (Math.Abs(y - browY) <= 1.1) return (60, 42, 30);
        }

        // Mouth: a parabola through the corners at (±11, 12); curvature lifts the corners (smile) or drops them.
        if (Math.Abs(x) <= 11)
        {
            double u = x / 11.0;
            double lip = 12 + p.MouthCurve * 4 * (0.5 - u * u);
            double open = p.MouthOpen * 5 * (1 - u * u);
            if (y >= lip - 0.9 && y <= lip + 0.9 + open)
                return open > 0.6 && y > lip + 0.9 ? (110, 20, 30) : (150, 50, 60);
        }

        // A nose hint so the face reads as a face at 64 pixels.
        if (Math.Abs(x) <= 1.2 && y is >= 0 and <= 5) return (skin.R * 0.85, skin.G * 0.85, skin.B * 0.85);
        return (skin.R, skin.G, skin.B);
    }
}
