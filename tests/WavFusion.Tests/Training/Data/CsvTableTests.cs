using WavFusion.Training.Data;

namespace WavFusion.Tests.Datasets;

public sealed class CsvTableTests
{
    [Fact]
    public void Parses_rfc4180_quoting_line_breaks_and_line_numbers()
    {
        var t = CsvTable.Parse("a,b,c\r\n1,\"x, y\",\"he said \"\"hi\"\"\"\r\n2,\"two\r\nlines\",\r\n\r\n3,,\"\"\n4,last");
        Assert.Equal(["a", "b", "c"], t.Header);
        Assert.Equal(4, t.Records.Count);
        Assert.Equal(["1", "x, y", "he said \"hi\""], t.Records[0].Fields);
        Assert.Equal(["2", "two\r\nlines", ""], t.Records[1].Fields);
        Assert.Equal(["3", "", ""], t.Records[2].Fields);
        Assert.Equal(["4", "last"], t.Records[3].Fields);
        Assert.Equal([2, 3, 6, 7], t.Records.Select(r => r.Line));
        Assert.Null(t.UnterminatedQuoteLine);
        Assert.Equal(1, t.ColumnOf("b"));
        Assert.Equal(-1, t.ColumnOf("z"));
    }

    [Fact]
    public void Tolerates_stray_quotes_and_reports_an_unclosed_one()
    {
        var t = CsvTable.Parse("a,b\n5\" tall,\"x\"y\n\"open,forever\nmore");
        Assert.Equal(["5\" tall", "xy"], t.Records[0].Fields);
        Assert.Equal(["open,forever\nmore"], t.Records[1].Fields);
        Assert.Equal(3, t.UnterminatedQuoteLine);
    }

    [Fact]
    public void Text_repair_maps_cp1252_in_both_disguises()
    {
        Assert.Equal("I’m “ok” – really…", TextRepair.RepairC1("I\u0092m \u0093ok\u0094 \u0096 really\u0085"));
        Assert.Equal("naïve €5 ’", TextRepair.Decode([0xEF, 0xBB, 0xBF, (byte)'n', (byte)'a', 0xC3, 0xAF, (byte)'v', (byte)'e', (byte)' ', 0x80, (byte)'5', (byte)' ', 0x92]));
        Assert.Equal("plain 日本", TextRepair.Decode(System.Text.Encoding.UTF8.GetBytes("plain 日本")));
    }
}
