using System.Text;

namespace WavFusion.Training.Data;

/// <summary>One CSV record: its fields and the physical line it starts on (1-based, header included).</summary>
public sealed record CsvRecord(int Line, IReadOnlyList<string> Fields);

/// <summary>
/// RFC 4180 reading: comma-separated fields, optionally in double quotes; inside quotes, commas and line breaks
/// are data and "" is one quote. Records end at CRLF, LF or a lone CR. Leniencies for real-world files, each
/// a choice RFC 4180 leaves open: a quote inside an unquoted field is kept as data, text after a closing quote
/// is appended to the field, and a quoted field left open at the end of input ends there (reported through
/// <see cref="UnterminatedQuoteLine"/>). The line numbers let a reader name "file:line" for a bad record.
/// </summary>
public sealed class CsvTable
{
    private CsvTable(IReadOnlyList<string> header, IReadOnlyList<CsvRecord> records, int? unterminatedQuoteLine)
    {
        Header = header;
        Records = records;
        UnterminatedQuoteLine = unterminatedQuoteLine;
    }

    public IReadOnlyList<string> Header { get; }

    public IReadOnlyList<CsvRecord> Records { get; }

    /// <summary>The line of a quoted field that was still open at the end of the input, if any.</summary>
    public int? UnterminatedQuoteLine { get; }

    /// <summary>The column of a header name (compared after trimming, ordinal), or −1.</summary>
    public int ColumnOf(string name) => Header.Select(h => h.Trim()).ToList().IndexOf(name);

    public static CsvTable Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var records = new List<CsvRecord>();
        var fields = new List<string>();
        var field = new StringBuilder();
        int line = 1, recordLine = 1, quoteOpenedAt = 0;
        bool inQuotes = false, fieldStarted = false;
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (inQuotes)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i += 2; continue; }
                    inQuotes = false;
                    i++;
                    continue;
                }
                if (c == '\r' || c == '\n')
                {
                    // A line break inside quotes is data; keep it as written but count the line.
                    if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') { field.Append("\r\n"); i += 2; }
                    else { field.Append(c); i++; }
                    line++;
                    continue;
                }
                field.Append(c);
                i++;
                continue;
            }
            switch (c)
            {
                case '"' when !fieldStarted:
                    inQuotes = true;
                    fieldStarted = true;
                    quoteOpenedAt = line;
                    i++;
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    fieldStarted = false;
                    i++;
                    break;
                case '\r' or '\n':
                    i += c == '\r' && i + 1 < text.Length && text[i + 1] == '\n' ? 2 : 1;
                    EndRecord();
                    line++;
                    recordLine = line;
                    break;
                default:
                    field.Append(c);
                    fieldStarted = true;
                    i++;
                    break;
            }
        }
        int? unterminated = inQuotes ? quoteOpenedAt : null;
        if (fieldStarted || field.Length > 0 || fields.Count > 0) EndRecord();
        if (records.Count == 0) return new CsvTable([], [], unterminated);
        return new CsvTable(records[0].Fields, records.Skip(1).ToList(), unterminated);

        void EndRecord()
        {
            fields.Add(field.ToString());
            field.Clear();
            fieldStarted = false;
            // Blank lines carry no record (RFC 4180 has none; spreadsheets leave them at the end).
            if (!(fields.Count == 1 && fields[0].Length == 0)) records.Add(new CsvRecord(recordLine, fields.ToArray()));
            fields.Clear();
        }
    }
}
