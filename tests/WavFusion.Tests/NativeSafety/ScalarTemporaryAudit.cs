using System.Reflection;
using System.Reflection.Emit;
using TorchSharp;

namespace WavFusion.Tests.NativeSafety;

/// <summary>
/// Finds, in compiled IL, every call that makes a TorchSharp <see cref="Scalar"/> temporary: an implicit
/// conversion to Scalar in our own code, or a TorchSharp method that makes one inside (directly, or through
/// the TorchSharp methods and lambdas it calls), or a TorchSharp module or optimiser whose forward/step makes
/// one. The banned-API analyzer stops the common forms at build time; this audit is the complete check
/// behind it, so a TorchSharp upgrade or an API the ban list does not name cannot slip through.
/// </summary>
public sealed class ScalarTemporaryAudit
{
    private const BindingFlags Everything = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static
                                            | BindingFlags.Instance | BindingFlags.DeclaredOnly;

    private static readonly Dictionary<short, OperandType> OperandTypes = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value, o => o.OperandType);

    private static readonly Lazy<ScalarTemporaryAudit> TorchSharpAudit = new(() => new ScalarTemporaryAudit(typeof(Scalar).Assembly));

    private readonly Assembly _torchSharp;
    private readonly HashSet<(Guid, int)> _unsafeMethods = [];
    private readonly HashSet<Type> _unsafeTypes = [];

    private ScalarTemporaryAudit(Assembly torchSharp)
    {
        _torchSharp = torchSharp;
        var methods = AllMethods(torchSharp).ToList();
        var callees = methods.ToDictionary(Key, m => Callees(m).ToList());
        // A method that makes a Scalar and does not hand it to its caller makes a temporary.
        foreach (var m in methods)
            if (!ReturnsScalar(m) && callees[Key(m)].Any(ReturnsScalar)) _unsafeMethods.Add(Key(m));
        // Transitively: a TorchSharp method that calls (or builds a delegate over) one that makes a temporary.
        for (bool changed = true; changed;)
        {
            changed = false;
            foreach (var m in methods)
            {
                if (_unsafeMethods.Contains(Key(m))) continue;
                if (callees[Key(m)].Any(c => _unsafeMethods.Contains(Key(c))))
                    changed |= _unsafeMethods.Add(Key(m));
            }
        }
        foreach (var m in methods)
            if (m.Name is "forward" or "step" && _unsafeMethods.Contains(Key(m)) && m.DeclaringType is { } t)
                _unsafeTypes.Add(t);
    }

    /// <summary>The audit of the TorchSharp assembly this process loaded.</summary>
    public static ScalarTemporaryAudit ForTorchSharp => TorchSharpAudit.Value;

    /// <summary>True when calling <paramref name="method"/> makes a Scalar temporary inside TorchSharp.</summary>
    public bool MakesTemporary(MethodBase method) => _unsafeMethods.Contains(Key(method));

    /// <summary>True when <paramref name="type"/>'s forward or step (its own or inherited) makes a Scalar temporary.</summary>
    public bool HasUnsafeForward(Type type)
    {
        for (var t = type; t is not null && t.Assembly == _torchSharp; t = t.BaseType)
            if (_unsafeTypes.Contains(t.IsGenericType ? t.GetGenericTypeDefinition() : t)) return true;
        return false;
    }

    /// <summary>Every site in <paramref name="types"/> that makes a Scalar temporary.</summary>
    public IReadOnlyList<ScalarTemporarySite> Scan(IEnumerable<Type> types)
    {
        var sites = new List<ScalarTemporarySite>();
        foreach (var type in types.SelectMany(WithNested).Distinct())
        {
            foreach (var method in DeclaredMethods(type))
            {
                foreach (var callee in Callees(method))
                {
                    if (callee.Module.Assembly != _torchSharp) continue;
                    string? reason = callee switch
                    {
                        _ when IsImplicitConversion(callee) => "implicit conversion to Scalar",
                        _ when ReturnsScalar(callee) => null, // the explicit forms (ToScalar) that the caller holds
                        _ when MakesTemporary(callee) => "TorchSharp makes a Scalar temporary inside",
                        ConstructorInfo c when HasUnsafeForward(c.DeclaringType!) => $"builds {c.DeclaringType!.Name}, whose forward/step makes Scalar temporaries",
                        MethodInfo f when f.IsStatic && HasUnsafeForward(f.ReturnType) => $"builds {f.ReturnType.Name}, whose forward/step makes Scalar temporaries",
                        _ => null,
                    };
                    if (reason is not null) sites.Add(new ScalarTemporarySite(method, callee, reason));
                }
            }
        }
        return sites;
    }

    private static bool ReturnsScalar(MethodBase m) =>
        m is ConstructorInfo { DeclaringType: var t } ? t == typeof(Scalar) : ((MethodInfo)m).ReturnType == typeof(Scalar);

    private static bool IsImplicitConversion(MethodBase m) => m.DeclaringType == typeof(Scalar) && m.Name == "op_Implicit";

    private static (Guid, int) Key(MethodBase m) => (m.Module.ModuleVersionId, m.MetadataToken);

    private static IEnumerable<MethodBase> AllMethods(Assembly assembly)
    {
        Type[] types;
        try { types = assembly.GetTypes(); }
        catch (ReflectionTypeLoadException e) { types = e.Types.Where(t => t is not null).ToArray()!; }
        return types.SelectMany(DeclaredMethods);
    }

    private static IEnumerable<MethodBase> DeclaredMethods(Type type) =>
        type.GetMethods(Everything).Cast<MethodBase>().Concat(type.GetConstructors(Everything));

    private static IEnumerable<Type> WithNested(Type type) =>
        type.GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic).SelectMany(WithNested).Prepend(type);

    /// <summary>Methods called, constructed or taken as delegates (call, callvirt, newobj, ldftn, ldvirtftn) by <paramref name="method"/>.</summary>
    private static IEnumerable<MethodBase> Callees(MethodBase method)
    {
        byte[]? il;
        try { il = method.GetMethodBody()?.GetILAsByteArray(); }
        catch (Exception e) when (e is BadImageFormatException or InvalidOperationException or FileNotFoundException) { il = null; }
        if (il is null) yield break;
        var typeArgs = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (int i = 0; i < il.Length;)
        {
            short value = il[i] == 0xFE && i + 1 < il.Length ? (short)(0xFE00 | il[i + 1]) : il[i];
            i += il[i] == 0xFE ? 2 : 1;
            if (!OperandTypes.TryGetValue(value, out var operand)) yield break;
            if (operand == OperandType.InlineMethod && i + 4 <= il.Length)
            {
                MethodBase? callee = null;
                try { callee = method.Module.ResolveMethod(BitConverter.ToInt32(il, i), typeArgs, methodArgs); }
                catch (Exception e) when (e is ArgumentException or BadImageFormatException or FileNotFoundException or TypeLoadException) { }
                if (callee is not null) yield return callee;
            }
            i += OperandSize(operand, il, i);
        }
    }

    private static int OperandSize(OperandType operand, byte[] il, int at) => operand switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, at),
        _ => 4,
    };
}

/// <summary>One call in <see cref="Caller"/> that makes a Scalar temporary.</summary>
public sealed record ScalarTemporarySite(MethodBase Caller, MethodBase Callee, string Reason)
{
    public override string ToString() =>
        $"{Caller.DeclaringType?.FullName}.{Caller.Name} calls {Callee.DeclaringType?.Name}.{Callee.Name}({string.Join(", ", Callee.GetParameters().Select(p => p.ParameterType.Name))}): {Reason}";
}
