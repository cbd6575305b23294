using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using WavFusion.Server;
using WavFusion.Server.Hosting;
using WavFusion.Server.Sessions;
using WavFusion.Server.Sessions.Bus;
using WavFusion.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace WavFusion.Tests.Deploy;

/// <summary>
/// deploy/: the Dockerfile, the compose file with Envoy's config, and the Kubernetes manifests. No container runtime,
/// cluster or schema validator (kubeconform, kubeval) can be had from the registries this project uses, so the YAML is
/// parsed and what the README promises is checked against the server itself: the configs load as the server loads
/// them, probes and the load balancer's health check use grpc.health.v1 on the gRPC port, the termination grace covers
/// the server's drain, the autoscaler's metric is one /metrics serves, and selectors match the pods.
/// </summary>
public sealed partial class DeploymentFilesTests
{
    private static string Deploy => Path.Combine(RepoPaths.Root, "deploy");

    private static List<YamlMappingNode> Documents(string path)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(path)) stream.Load(reader);
        return stream.Documents.Select(d => Assert.IsType<YamlMappingNode>(d.RootNode)).ToList();
    }

    private static YamlNode At(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            var map = Assert.IsType<YamlMappingNode>(node);
            Assert.True(map.Children.TryGetValue(new YamlScalarNode(key), out var child), $"'{key}' missing ({string.Join(".", path)})");
            node = child!;
        }
        return node;
    }

    private static string Text(YamlNode node, params string[] path) => Assert.IsType<YamlScalarNode>(At(node, path)).Value!;

    private static int Number(YamlNode node, params string[] path) => int.Parse(Text(node, path), CultureInfo.InvariantCulture);

    private static bool Has(YamlNode node, string key) => node is YamlMappingNode map && map.Children.ContainsKey(new YamlScalarNode(key));

    /// <summary>Loads <paramref name="json"/> as `serve --config` would, so a field the server does not know fails here.</summary>
    private static ServerOptions LoadServerConfig(string json)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("server.json"), json);
        return ServerOptions.Load(dir.File("server.json"));
    }

    /// <summary>What a pod or container must allow for SIGTERM: the grace for open streams, the drain of cut ones, and closing.</summary>
    private static double DrainSeconds(ServerOptions options) =>
        options.Shutdown.GraceSeconds + ShutdownCoordinator.DrainAllowance.TotalSeconds + 5;

    private static async Task<HashSet<string>> MetricNamesAsync()
    {
        var options = new ServerOptions { Bus = new BusOptions { Kind = BusOptions.Nats, Url = "nats://127.0.0.1:1", ReplicaId = "names" } };
        await using var nats = new NatsSessionHub(options, NullLoggerFactory.Instance);
        await using var local = new InProcessSessionHub(options);
        var names = nats.Metrics().Concat(local.Metrics()).Select(m => m.Name).ToHashSet();
        names.UnionWith(MetricsEndpoint.Render(new ServerContext(null!, local, options, new global::WavFusion.Server.Streaming.StreamRegistry(options.Limits), TimeProvider.System, null))
            .Split('\n').Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split(' ')[0]));
        return names;
    }

    [Fact]
    public async Task The_Kubernetes_manifests_parse_and_keep_what_the_README_promises()
    {
        var docs = Directory.GetFiles(Path.Combine(Deploy, "k8s"), "*.yaml").Where(f => Path.GetFileName(f) != "kustomization.yaml")
            .SelectMany(f => Documents(f).Select(d => (File: Path.GetFileName(f), Doc: d))).ToList();
        foreach (var (file, doc) in docs)
        {
            Assert.False(string.IsNullOrEmpty(Text(doc, "apiVersion")), file);
            Assert.False(string.IsNullOrEmpty(Text(doc, "metadata", "name")), file);
        }
        YamlMappingNode Kind(string kind) => docs.Single(d => Text(d.Doc, "kind") == kind && Text(d.Doc, "metadata", "name") == "wavfusion").Doc;
        var kustomization = Documents(Path.Combine(Deploy, "k8s", "kustomization.yaml")).Single();
        Assert.Equal(docs.Select(d => d.File).Distinct().Order(), ((YamlSequenceNode)At(kustomization, "resources")).Select(n => ((YamlScalarNode)n).Value!).Order());

        var configMap = docs.Single(d => Text(d.Doc, "kind") == "ConfigMap" && Text(d.Doc, "metadata", "name") == "wavfusion-config").Doc;
        var options = LoadServerConfig(Text(configMap, "data", "server.json"));
        Assert.True(options.Bus.IsNats);
        Assert.True(options.Bus.JetStream.Enabled);

        var deployment = Kind("Deployment");
        Assert.Equal("apps/v1", Text(deployment, "apiVersion"));
        var pod = At(deployment, "spec", "template");
        var labels = (YamlMappingNode)At(pod, "metadata", "labels");
        Assert.Equal(labels, At(deployment, "spec", "selector", "matchLabels"));
        var container = Assert.Single((YamlSequenceNode)At(pod, "spec", "containers"));
        var ports = ((YamlSequenceNode)At(container, "ports")).ToDictionary(p => Text(p, "name"), p => Number(p, "containerPort"));
        var args = ((YamlSequenceNode)At(container, "args")).Select(a => ((YamlScalarNode)a).Value!).ToList();
        int grpcPort = ListenAddress.Parse(args[args.IndexOf("--listen") + 1]).Port;
        Assert.Equal(grpcPort, ports["grpc"]);
        Assert.Equal(ListenAddress.Parse(options.Metrics.Listen!).Port, ports["metrics"]);
        Assert.Equal(global::WavFusion.Server.Dashboard.DashboardSite.OwnAddressFor(ListenAddress.Parse(args[args.IndexOf("--listen") + 1]), options.Dashboard, tls: false)!.Port,
            ports["dashboard"]);
        Assert.Equal(Text(pod, "metadata", "annotations", "prometheus.io/port"), ports["metrics"].ToString(CultureInfo.InvariantCulture));

        // Readiness (and start-up, liveness) from grpc.health.v1 on the gRPC port.
        foreach (var probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
            Assert.Equal(grpcPort, Number(container, probe, "grpc", "port"));
        // The config the server reads is the ConfigMap's; the keys come from a Secret.
        var mounts = ((YamlSequenceNode)At(container, "volumeMounts")).ToDictionary(m => Text(m, "mountPath"), m => Text(m, "name"));
        Assert.Equal("config", mounts[args[args.IndexOf("--config") + 1]]);
        Assert.Equal("keys", mounts[Path.GetDirectoryName(args[args.IndexOf("--api-keys") + 1])!]);

        // SIGTERM after preStop; the pod lives through the server's whole drain.
        var preStop = ((YamlSequenceNode)At(container, "lifecycle", "preStop", "exec", "command")).Select(c => ((YamlScalarNode)c).Value!).ToList();
        Assert.Equal("sleep", preStop[0]);
        double preStopSeconds = double.Parse(preStop[1], CultureInfo.InvariantCulture);
        int grace = Number(pod, "spec", "terminationGracePeriodSeconds");
        Assert.True(grace >= preStopSeconds + DrainSeconds(options),
            $"terminationGracePeriodSeconds {grace} < preStop {preStopSeconds} + shutdown.grace_seconds {options.Shutdown.GraceSeconds} + drain {ShutdownCoordinator.DrainAllowance.TotalSeconds} + 5");

        // Non-root, as the image's USER.
        Assert.Equal("true", Text(pod, "spec", "securityContext", "runAsNonRoot"));
        Assert.Equal(DockerfileUser(), Number(pod, "spec", "securityContext", "runAsUser"));
        Assert.Equal("false", Text(container, "securityContext", "allowPrivilegeEscalation"));

        // The Services and the PDB select the Deployment's pods; the Services reach the gRPC port.
        foreach (var (file, doc) in docs.Where(d => Text(d.Doc, "kind") == "Service"))
        {
            Assert.Equal(labels, At(doc, "spec", "selector"));
            Assert.Contains((YamlSequenceNode)At(doc, "spec", "ports"), p => Text(p, "targetPort") == "grpc");
        }
        Assert.Equal("None", Text(docs.Single(d => Text(d.Doc, "metadata", "name") == "wavfusion-pods").Doc, "spec", "clusterIP"));
        var pdb = Kind("PodDisruptionBudget");
        Assert.Equal(labels, At(pdb, "spec", "selector", "matchLabels"));
        Assert.True(Number(pdb, "spec", "maxUnavailable") < Number(deployment, "spec", "replicas"));

        // The autoscaler scales the Deployment on a metric the server serves, through the adapter rule shipped beside it.
        var hpa = Kind("HorizontalPodAutoscaler");
        Assert.Equal("autoscaling/v2", Text(hpa, "apiVersion"));
        Assert.Equal(("Deployment", "wavfusion"), (Text(hpa, "spec", "scaleTargetRef", "kind"), Text(hpa, "spec", "scaleTargetRef", "name")));
        var metric = Assert.Single((YamlSequenceNode)At(hpa, "spec", "metrics"));
        string metricName = Text(metric, "pods", "metric", "name");
        Assert.Contains(metricName, await MetricNamesAsync());
        double target = double.Parse(Text(metric, "pods", "target", "averageValue"), CultureInfo.InvariantCulture);
        Assert.InRange(target, 1, options.Limits.MaxStreams);
        Assert.True(Number(hpa, "spec", "minReplicas") <= Number(deployment, "spec", "replicas"));
        var adapter = docs.Single(d => Text(d.Doc, "metadata", "name") == "wavfusion-prometheus-adapter-rules").Doc;
        var rules = new YamlStream();
        rules.Load(new StringReader(Text(adapter, "data", "config.yaml")));
        var rule = Assert.Single((YamlSequenceNode)At(rules.Documents[0].RootNode, "rules"));
        Assert.Contains(metricName, Text(rule, "seriesQuery"), StringComparison.Ordinal);
        Assert.Equal(metricName, Text(rule, "name", "as"));
    }

    [Fact]
    public async Task The_compose_file_runs_three_replicas_on_NATS_with_JetStream_behind_Envoy()
    {
        var compose = Documents(Path.Combine(Deploy, "compose", "docker-compose.yml")).Single();
        var services = (YamlMappingNode)At(compose, "services");
        Assert.Contains("-js", ((YamlSequenceNode)At(services, "nats", "command")).Select(c => ((YamlScalarNode)c).Value));
        var wavfusion = At(services, "wavfusion");
        Assert.Equal(3, Number(wavfusion, "deploy", "replicas"));
        Assert.Equal("deploy/Dockerfile", Text(wavfusion, "build", "dockerfile"));
        Assert.True(Directory.Exists(Path.GetFullPath(Text(wavfusion, "build", "context"), Path.Combine(Deploy, "compose"))));
        var args = ((YamlSequenceNode)At(wavfusion, "command")).Select(a => ((YamlScalarNode)a).Value!).ToList();
        int grpcPort = ListenAddress.Parse(args[args.IndexOf("--listen") + 1]).Port;

        // The replicas' config loads as the server loads it, on the compose file's NATS.
        var volumes = ((YamlSequenceNode)At(wavfusion, "volumes")).Select(v => Volume(((YamlScalarNode)v).Value!)).ToList();
        string configFile = volumes.Single(v => v.Target == args[args.IndexOf("--config") + 1]).Source;
        var options = ServerOptions.Load(Path.Combine(Deploy, "compose", configFile));
        Assert.True(options.Bus.IsNats);
        Assert.Equal("nats", new Uri(options.Bus.Url).Host);
        Assert.True(options.Bus.JetStream.Enabled);
        Assert.True(options.Tls.AllowPlaintextRemote, "behind Envoy on the compose network");
        var keys = volumes.Single(v => v.Target == args[args.IndexOf("--api-keys") + 1]);
        Assert.Equal("${WAVFUSION_KEYS_FILE:-./keys.example.json}", keys.Source);
        // The example keys file is a keys file the server accepts.
        Assert.Equal(2, global::WavFusion.Server.Security.ApiKeySet.Load(Path.Combine(Deploy, "compose", "keys.example.json")).Count);
        var stopGrace = StopGrace().Match(Text(wavfusion, "stop_grace_period"));
        Assert.True(stopGrace.Success && double.Parse(stopGrace.Groups[1].Value, CultureInfo.InvariantCulture) >= DrainSeconds(options));

        // Envoy: the replicas as one cluster by DNS, HTTP/2 upstream, grpc.health.v1 checks, no route timeout.
        var envoyFile = Volume(((YamlScalarNode)Assert.Single((YamlSequenceNode)At(services, "envoy", "volumes"))).Value!).Source;
        var envoy = Documents(Path.Combine(Deploy, "compose", envoyFile)).Single();
        var cluster = Assert.Single((YamlSequenceNode)At(envoy, "static_resources", "clusters"));
        Assert.Equal("STRICT_DNS", Text(cluster, "type"));
        var endpoint = At(((YamlSequenceNode)At(((YamlSequenceNode)At(cluster, "load_assignment", "endpoints"))[0], "lb_endpoints"))[0], "endpoint", "address", "socket_address");
        Assert.Equal(("wavfusion", grpcPort), (Text(endpoint, "address"), Number(endpoint, "port_value")));
        Assert.True(Has(At(cluster, "typed_extension_protocol_options", "envoy.extensions.upstreams.http.v3.HttpProtocolOptions", "explicit_http_config"), "http2_protocol_options"));
        Assert.True(Has(Assert.Single((YamlSequenceNode)At(cluster, "health_checks")), "grpc_health_check"));
        var listener = Assert.Single((YamlSequenceNode)At(envoy, "static_resources", "listeners"));
        Assert.Equal(grpcPort, Number(listener, "address", "socket_address", "port_value"));
        var manager = At(((YamlSequenceNode)At(((YamlSequenceNode)At(listener, "filter_chains"))[0], "filters"))[0], "typed_config");
        var route = At(((YamlSequenceNode)At(((YamlSequenceNode)At(manager, "route_config", "virtual_hosts"))[0], "routes"))[0], "route");
        Assert.Equal(("wavfusion", "0s"), (Text(route, "cluster"), Text(route, "timeout")));
        Assert.Equal("0s", Text(manager, "stream_idle_timeout"));
        Assert.Contains(((YamlSequenceNode)At(services, "envoy", "ports")).Select(p => ((YamlScalarNode)p).Value), p => p!.EndsWith($":{grpcPort}", StringComparison.Ordinal));
        await Task.CompletedTask;
    }

    [Fact]
    public void The_Dockerfile_is_multi_stage_CPU_by_default_non_root_and_checks_health_through_the_cli()
    {
        var text = File.ReadAllText(Path.Combine(Deploy, "Dockerfile"));
        Assert.True(Regex.Matches(text, @"^FROM ", RegexOptions.Multiline).Count >= 2, "a build stage and a runtime stage");
        Assert.Matches(new Regex(@"^ARG TORCH_BACKEND=cpu$", RegexOptions.Multiline), text);
        Assert.Contains("-p:TorchBackend=${TORCH_BACKEND}", text, StringComparison.Ordinal);
        Assert.NotEqual(0, DockerfileUser());
        var health = Regex.Match(text, @"HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])");
        Assert.True(health.Success, "a HEALTHCHECK with an exec-form CMD");
        var command = System.Text.Json.JsonSerializer.Deserialize<string[]>(health.Groups[1].Value)!;
        Assert.Equal(["client", "health"], command[1..3]);
        var entry = System.Text.Json.JsonSerializer.Deserialize<string[]>(Regex.Match(text, @"^ENTRYPOINT (\[.*\])$", RegexOptions.Multiline).Groups[1].Value)!;
        Assert.Equal(command[0], entry[0]);
        Assert.Equal("serve", entry[1]);
        // The health command exists and says so when nothing answers (the process tests see it answer SERVING).
        var r = ProcessRunner.Cli([.. command[1..].Select(a => a.Replace("127.0.0.1:50051", "127.0.0.1:1", StringComparison.Ordinal))]);
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("error: server: ", r.StdErr.Trim(), StringComparison.Ordinal);
    }

    /// <summary>A compose short-form volume, SOURCE:TARGET[:ro]; the source may hold ${VAR:-default}.</summary>
    private static (string Source, string Target) Volume(string spec)
    {
        var parts = spec.Split(':').ToList();
        if (parts[^1] is "ro" or "rw") parts.RemoveAt(parts.Count - 1);
        return (string.Join(':', parts[..^1]), parts[^1]);
    }

    private static int DockerfileUser() =>
        int.Parse(Regex.Match(File.ReadAllText(Path.Combine(Deploy, "Dockerfile")), @"^USER (\d+)$", RegexOptions.Multiline).Groups[1].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(\d+)s$")]
    private static partial Regex StopGrace();
}
