using System.Runtime.InteropServices;
using OpenCvSharp;
using WavFusion.Live.Pipeline;
using WavFusion.Media;

namespace WavFusion.Live.Stages;

/// <summary>
/// Finds the largest face of a frame and crops it for the image encoder: OpenCV's Haar cascade (Debian's
/// opencv-data) or, when <see cref="FaceOptions.YuNetModel"/> names a file, the YuNet ONNX detector
/// (<see cref="FaceDetectorYN"/>). One per stream: neither OpenCV detector may be shared between threads.
/// </summary>
public sealed class FaceDetector : IDisposable
{
    // Haar's cost grows with the pixel count; faces a webcam sees stay well above the minimum size at this width.
    private const int HaarMaxWidth = 640;
    private const double HaarScaleFactor = 1.1;
    private const int HaarMinNeighbors = 4;
    // Between full-frame searches the Haar path looks for the face it last found near where it was, at sizes close to
    // its own (FaceTracking): a fraction of the pixels and scales, and Haar was half of a live stream's CPU time.
    private const int FullSearchEvery = 5;
    private const double TrackMargin = 0.5;
    private const double TrackMinScale = 0.7;
    private const double TrackMaxScale = 1.4;
    private const float YuNetScoreThreshold = 0.8f;
    private const float YuNetNmsThreshold = 0.3f;
    private const int YuNetTopK = 50;

    private readonly CascadeClassifier? _haar;
    private readonly string? _yuNetModel;
    private readonly double _margin;
    private FaceDetectorYN? _yuNet;
    private Size _yuNetInput;
    private Rect? _tracked;
    private int _sinceFullSearch;

    private FaceDetector(CascadeClassifier? haar, string? yuNetModel, double margin)
    {
        _haar = haar;
        _yuNetModel = yuNetModel;
        _margin = margin;
    }

    /// <summary>"haar" or "yunet".</summary>
    public string Backend => _haar is null ? "yunet" : "haar";

    /// <summary>The detector <paramref name="options"/> name; errors name the missing or unreadable file.</summary>
    public static FaceDetector Create(FaceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Margin is < 0 or > 2) throw new ArgumentOutOfRangeException(nameof(options), options.Margin, "faces.margin must lie in [0, 2]");
        if (!string.IsNullOrEmpty(options.YuNetModel))
        {
            if (!File.Exists(options.YuNetModel))
                throw new FileNotFoundException($"{options.YuNetModel}: YuNet face-detection model not found (faces.yunet_model)", options.YuNetModel);
            var detector = new FaceDetector(null, options.YuNetModel, options.Margin);
            // Built once here so that a file OpenCV cannot read fails now, naming it, not at the first frame.
            try
            {
                detector.YuNetFor(new Size(320, 240));
            }
            catch (OpenCVException e)
            {
                detector.Dispose();
                throw new InvalidDataException($"{options.YuNetModel}: not a YuNet ONNX model OpenCV can load: {e.Message}", e);
            }
            return detector;
        }
        if (!File.Exists(options.HaarCascade))
            throw new FileNotFoundException($"{options.HaarCascade}: Haar cascade not found (faces.haar_cascade; Debian's opencv-data installs it)", options.HaarCascade);
        var cascade = new CascadeClassifier(options.HaarCascade);
        if (cascade.Empty())
        {
            cascade.Dispose();
            throw new InvalidDataException($"{options.HaarCascade}: not a Haar cascade OpenCV can read (faces.haar_cascade)");
        }
        return new FaceDetector(cascade, null, options.Margin);
    }

    /// <summary>The largest face's box in frame pixels, or null when there is none (a whole-frame search, never tracked).</summary>
    public Rect? DetectLargest(VideoFrame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        using var bgr = ToBgrMat(frame);
        return DetectLargest(bgr);
    }

    /// <summary>Frames whose face was found near the previous one's (<see cref="CropLargest"/> with the Haar cascade).</summary>
    public long TrackedFrames { get; private set; }

    /// <summary>Frames searched whole.</summary>
    public long FullSearches { get; private set; }

    /// <summary>
    /// The largest face, its box widened by the margin on every side, made square around its centre (the part
    /// outside the frame black) and resized to <paramref name="size"/>² RGB bytes, row-major; null when no face.
    /// Frames are a stream's, in order: with the Haar cascade, once a face is found the next frames look for it
    /// first around its last box, at 0.7-1.4× its size, and search the whole frame when it is not there and on every
    /// <see cref="FullSearchEvery"/>th frame (about once a second at 5 analysed frames a second), which is when a
    /// larger face that came into view elsewhere takes over.
    /// </summary>
    public byte[]? CropLargest(VideoFrame frame, int size)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        using var bgr = ToBgrMat(frame);
        var face = _haar is not null ? TrackHaar(bgr) : DetectLargest(bgr);
        return face is { } found ? Crop(bgr, found, size) : null;
    }

    private Rect? TrackHaar(Mat bgr)
    {
        if (_tracked is { } last && ++_sinceFullSearch < FullSearchEvery)
        {
            int side = Math.Max(last.Width, last.Height);
            int pad = (int)Math.Ceiling(side * TrackMargin);
            var region = new Rect(last.X - pad, last.Y - pad, last.Width + 2 * pad, last.Height + 2 * pad).Intersect(new Rect(0, 0, bgr.Width, bgr.Height));
            if (region.Width > 0 && region.Height > 0)
            {
                using var roi = new Mat(bgr, region);
                var near = DetectHaar(roi, (int)(side * TrackMinScale), (int)Math.Ceiling(side * TrackMaxScale));
                if (near.Count > 0)
                {
                    var box = near.MaxBy(f => (long)f.Width * f.Height);
                    TrackedFrames++;
                    _tracked = new Rect(box.X + region.X, box.Y + region.Y, box.Width, box.Height);
                    return _tracked;
                }
            }
        }
        FullSearches++;
        _sinceFullSearch = 0;
        _tracked = DetectLargest(bgr);
        return _tracked;
    }

    private Rect? DetectLargest(Mat bgr)
    {
        var faces = _haar is not null ? DetectHaar(bgr) : DetectYuNet(bgr);
        return faces.Count == 0 ? null : faces.MaxBy(f => (long)f.Width * f.Height);
    }

    /// <summary>Faces in <paramref name="bgr"/>; sides between <paramref name="minFace"/> and <paramref name="maxFace"/> pixels of it when given.</summary>
    private List<Rect> DetectHaar(Mat bgr, int? minFace = null, int? maxFace = null)
    {
        double scale = bgr.Width > HaarMaxWidth ? (double)HaarMaxWidth / bgr.Width : 1;
        using var gray = new Mat();
        Cv2.CvtColor(bgr, gray, ColorConversionCodes.BGR2GRAY);
        if (scale < 1) Cv2.Resize(gray, gray, new Size(), scale, scale, InterpolationFlags.Area);
        Cv2.EqualizeHist(gray, gray);
        int minSide = Math.Max(24, minFace is { } least ? (int)(least * scale) : Math.Min(gray.Width, gray.Height) / 12);
        var maxSize = maxFace is { } most ? new Size((int)Math.Ceiling(most * scale), (int)Math.Ceiling(most * scale)) : (Size?)null;
        if (maxSize is { } m && m.Width < minSide) return [];
        var found = _haar!.DetectMultiScale(gray, HaarScaleFactor, HaarMinNeighbors, HaarDetectionTypes.ScaleImage, new Size(minSide, minSide), maxSize);
        return found.Select(r => new Rect((int)(r.X / scale), (int)(r.Y / scale), (int)(r.Width / scale), (int)(r.Height / scale))).ToList();
    }

    private List<Rect> DetectYuNet(Mat bgr)
    {
        var detector = YuNetFor(bgr.Size());
        using var faces = new Mat();
        detector.Detect(bgr, faces);
        int rows = faces.Rows;
        var boxes = new List<Rect>(rows);
        // Each row: box x, y, w, h, five landmarks (x, y), score.
        for (int i = 0; i < rows; i++)
            boxes.Add(new Rect((int)faces.At<float>(i, 0), (int)faces.At<float>(i, 1), (int)faces.At<float>(i, 2), (int)faces.At<float>(i, 3)));
        return boxes;
    }

    /// <summary>YuNet is built for one input size; OpenCvSharp has no setter, so a new frame size builds it again.</summary>
    private FaceDetectorYN YuNetFor(Size size)
    {
        if (_yuNet is not null && _yuNetInput == size) return _yuNet;
        _yuNet?.Dispose();
        _yuNet = FaceDetectorYN.Create(_yuNetModel!, "", size, YuNetScoreThreshold, YuNetNmsThreshold, YuNetTopK);
        _yuNetInput = size;
        return _yuNet;
    }

    private byte[] Crop(Mat bgr, Rect face, int size)
    {
        double side = Math.Max(face.Width, face.Height) * (1 + 2 * _margin);
        double cx = face.X + face.Width / 2.0, cy = face.Y + face.Height / 2.0;
        var square = new Rect((int)Math.Round(cx - side / 2), (int)Math.Round(cy - side / 2), Math.Max(1, (int)Math.Round(side)), Math.Max(1, (int)Math.Round(side)));
        var inside = square.Intersect(new Rect(0, 0, bgr.Width, bgr.Height));
        using var padded = new Mat();
        using (var roi = new Mat(bgr, inside))
        {
            Cv2.CopyMakeBorder(roi, padded, inside.Y - square.Y, square.Bottom - inside.Bottom, inside.X - square.X, square.Right - inside.Right,
                BorderTypes.Constant, Scalar.Black);
        }
        using var resized = new Mat();
        Cv2.Resize(padded, resized, new Size(size, size), 0, 0, padded.Width > size ? InterpolationFlags.Area : InterpolationFlags.Linear);
        using var rgb = new Mat();
        Cv2.CvtColor(resized, rgb, ColorConversionCodes.BGR2RGB);
        var bytes = new byte[size * size * 3];
        Marshal.Copy(rgb.Data, bytes, 0, bytes.Length);
        return bytes;
    }

    /// <summary>A BGR Mat over a copy of the frame's pixels (RGB frames are reordered).</summary>
    private static Mat ToBgrMat(VideoFrame frame)
    {
        var mat = new Mat(frame.Height, frame.Width, MatType.CV_8UC3);
        int rowBytes = frame.Width * 3;
        for (int y = 0; y < frame.Height; y++) Marshal.Copy(frame.Pixels, y * frame.RowStride, mat.Ptr(y), rowBytes);
        if (frame.Order == PixelOrder.Rgb) Cv2.CvtColor(mat, mat, ColorConversionCodes.RGB2BGR);
        return mat;
    }

    public void Dispose()
    {
        _haar?.Dispose();
        _yuNet?.Dispose();
    }
}
