// MSBuild task: copies an ELF shared object and marks chosen symbol-version requirements weak
// (VER_FLG_WEAK in .gnu.version_r), so the dynamic loader accepts a libstdc++ that lacks them.
// libLibTorchSharp.so (TorchSharp 0.107) needs GLIBCXX_3.4.32 for one GCC 13 static-init hook
// (std::ios_base_library_init) that is never called; Debian 12 ships GLIBCXX_3.4.30.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class ElfWeakVersionTask : Task
{
    [Required] public string Source { get; set; } = "";
    [Required] public string Destination { get; set; } = "";
    [Required] public string Versions { get; set; } = "";

    public override bool Execute()
    {
        try
        {
            byte[] elf = File.ReadAllBytes(Source);
            int patched = Patch(elf, Versions.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries));
            Directory.CreateDirectory(Path.GetDirectoryName(Destination)!);
            string tmp = Destination + ".tmp";
            File.WriteAllBytes(tmp, elf);
            if (File.Exists(Destination)) File.Delete(Destination);
            File.Move(tmp, Destination);
            Log.LogMessage(MessageImportance.Normal, $"{Path.GetFileName(Source)}: {patched} version requirement(s) marked weak -> {Destination}");
            return true;
        }
        catch (Exception e)
        {
            Log.LogError($"Cannot patch '{Source}': {e.Message}");
            return false;
        }
    }

    private static int Patch(byte[] b, string[] versions)
    {
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (b[4] != 2 || b[5] != 1) throw new InvalidDataException("only little-endian ELF64 is supported");
        long shoff = BitConverter.ToInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A);
        int shnum = BitConverter.ToUInt16(b, 0x3C);
        const uint SHT_GNU_verneed = 0x6ffffffe;
        int count = 0;
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (BitConverter.ToUInt32(b, (int)sh + 4) != SHT_GNU_verneed) continue;
            long offset = BitConverter.ToInt64(b, (int)sh + 0x18);
            int link = (int)BitConverter.ToUInt32(b, (int)sh + 0x28);
            long strtab = BitConverter.ToInt64(b, (int)(shoff + (long)link * shentsize) + 0x18);
            long vn = offset;
            while (true)
            {
                int cnt = BitConverter.ToUInt16(b, (int)vn + 2);
                long aux = vn + BitConverter.ToUInt32(b, (int)vn + 8);
                for (int a = 0; a < cnt; a++)
                {
                    string name = ReadCString(b, strtab + BitConverter.ToUInt32(b, (int)aux + 8));
                    if (Array.IndexOf(versions, name) >= 0)
                    {
                        ushort flags = BitConverter.ToUInt16(b, (int)aux + 4);
                        BitConverter.GetBytes((ushort)(flags | 0x2)).CopyTo(b, (int)aux + 4);
                        count++;
                    }
                    uint next = BitConverter.ToUInt32(b, (int)aux + 12);
                    if (next == 0) break;
                    aux += next;
                }
                uint vnNext = BitConverter.ToUInt32(b, (int)vn + 12);
                if (vnNext == 0) break;
                vn += vnNext;
            }
        }
        return count;
    }

    private static string ReadCString(byte[] b, long at)
    {
        int end = (int)at;
        while (b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)at, end - (int)at);
    }
}
