using WavFusion.Live.Pipeline;

namespace WavFusion.Tests.Live;

public sealed class FrameRateGateTests
{
    [Theory]
    [InlineData(25, 10, 10)]
    [InlineData(25, 5, 5)]
    [InlineData(30, 15, 15)]
    [InlineData(10, 15, 10)]
    public void A_camera_capped_below_its_rate_passes_the_cap_every_second(int cameraFps, double cap, int expectedPerSecond)
    {
        var gate = new FrameRateGate(cap);
        var passed = Enumerable.Range(0, cameraFps * 4).Select(i => TimeSpan.FromMilliseconds(Math.Round(i * 1000.0 / cameraFps))).Where(gate.TryPass).ToList();

        for (int second = 0; second < 4; second++)
            Assert.Equal(expectedPerSecond, passed.Count(t => t.TotalSeconds >= second && t.TotalSeconds < second + 1));
    }

    [Fact]
    public void After_a_gap_the_schedule_restarts_instead_of_letting_a_burst_through()
    {
        var gate = new FrameRateGate(5);
        Assert.True(gate.TryPass(TimeSpan.Zero));
        Assert.True(gate.TryPass(TimeSpan.FromSeconds(3)));
        Assert.False(gate.TryPass(TimeSpan.FromSeconds(3.1)));
        Assert.True(gate.TryPass(TimeSpan.FromSeconds(3.2)));
    }
}
