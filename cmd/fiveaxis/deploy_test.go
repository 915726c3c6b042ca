package main

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// The deployment tests parse every file in deploy/ and check the names in
// them against the binary: subcommands and flags against the cobra root,
// FIVEAXIS_* variables against the ones the config and the code read,
// ports against the listen addresses, probe paths against the routes the
// server code registers.

const deployDir = "../../deploy"

// deployFiles lists every file in deploy/ with the test that covers it;
// TestDeployFilesCovered fails on a file missing here.
var deployFiles = map[string]string{
	"Dockerfile":                 "TestDeployDockerfile",
	"compose.yaml":               "TestDeployCompose",
	"k8s/kustomization.yaml":     "TestDeployKubernetes",
	"k8s/configmap.yaml":         "TestDeployKubernetes",
	"k8s/secret.yaml":            "TestDeployKubernetes",
	"k8s/deployment-serve.yaml":  "TestDeployKubernetes",
	"k8s/deployment-worker.yaml": "TestDeployKubernetes",
	"k8s/service.yaml":           "TestDeployKubernetes",
	"k8s/pdb.yaml":               "TestDeployKubernetes",
	"systemd/fiveaxis.service":   "TestDeploySystemd",
	"prometheus/alerts.yaml":     "TestDeployAlerts",
}

func TestDeployFilesCovered(t *testing.T) {
	seen := map[string]bool{}
	err := filepath.WalkDir(deployDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(deployDir, p)
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		if deployFiles[rel] == "" {
			t.Errorf("deploy/%s is not covered by a test: add it to deployFiles and check it", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for f := range deployFiles {
		if !seen[f] {
			t.Errorf("deploy/%s is listed but missing", f)
		}
	}
}

// binaryFacts is what the deploy files are checked against.
type binaryFacts struct {
	root      *cobra.Command
	env       map[string]bool // FIVEAXIS_* variables the binary reads
	routes    map[string]bool // HTTP paths the server code registers
	listenDef string          // port of the default listen address
}

func setupDeploy(t testing.TB) *binaryFacts {
	t.Helper()
	b := &binaryFacts{
		root:   newRootCmd(&app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: lookup(nil)}),
		env:    map[string]bool{},
		routes: map[string]bool{},
	}
	for _, e := range knownEnv() {
		b.env[e] = true
	}
	_, b.listenDef, _ = net.SplitHostPort(defaultListen)
	// Variables read elsewhere in the binary, and the routes its servers
	// register: string literals in the non-test sources, except the files
	// of this deployment work (so a route named only in init's output does
	// not count as served).
	own := map[string]bool{"config.go": true, "config_cmds.go": true, "config_options.go": true,
		"init_cmd.go": true, "logging.go": true, "healthcheck_cmd.go": true}
	envLit := regexp.MustCompile(`^FIVEAXIS_[A-Z0-9_]+$`)
	route := regexp.MustCompile(`^(?:(?:GET|POST|HEAD|PUT) )?(/[a-z][a-z0-9/_-]*)$`)
	for _, dir := range []string{".", "../../reviewer/gitea", "../../reviewer/queue"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") || (dir == "." && own[filepath.Base(f)]) {
				continue
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
			if err != nil {
				t.Fatalf("parse %s: %v", f, err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					return true
				}
				if envLit.MatchString(s) && dir == "." {
					b.env[s] = true
				}
				if m := route.FindStringSubmatch(s); m != nil {
					b.routes[m[1]] = true
				}
				return true
			})
		}
	}
	if c, _, err := b.root.Find([]string{"serve"}); err != nil || c.Name() != "serve" {
		// Without serve, there are no routes to check against yet.
		t.Logf("no serve command: probe paths checked against the planned list")
		for _, p := range []string{"/healthz", "/readyz", "/metrics", webhookPath} {
			b.routes[p] = true
		}
	}
	return b
}

// checkArgs checks a command line of the binary (without the program name):
// the subcommand exists and each flag is one it accepts. It returns the
// command and the value of --listen, if given.
func (b *binaryFacts) checkArgs(t testing.TB, where string, args []string) (*cobra.Command, string) {
	t.Helper()
	var path []string
	i := 0
	for ; i < len(args) && !strings.HasPrefix(args[i], "-"); i++ {
		path = append(path, args[i])
	}
	cmd, rest, err := b.root.Find(path)
	if err != nil || len(rest) > 0 || cmd == b.root {
		t.Errorf("%s: %q is not a fiveaxis command", where, strings.Join(path, " "))
		return nil, ""
	}
	listen := ""
	for ; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		var fl *pflag.Flag
		if strings.HasPrefix(a, "--") {
			fl = cmd.Flags().Lookup(name)
			if fl == nil {
				fl = cmd.InheritedFlags().Lookup(name)
			}
		} else {
			fl = cmd.Flags().ShorthandLookup(name)
		}
		if fl == nil {
			t.Errorf("%s: %s has no flag %s", where, cmd.CommandPath(), a)
			continue
		}
		if !hasVal && fl.Value.Type() != "bool" && i+1 < len(args) {
			i++
			val = args[i]
		}
		if fl.Name == "listen" {
			listen = val
		}
		for _, secret := range []string{"token", "secret", "password", "key"} {
			if strings.Contains(fl.Name, secret) {
				t.Errorf("%s: flag --%s looks like a secret; secrets come from the environment", where, fl.Name)
			}
		}
	}
	return cmd, listen
}

// checkEnv checks that name is a variable the binary reads.
func (b *binaryFacts) checkEnv(t testing.TB, where, name string) {
	t.Helper()
	if strings.HasPrefix(name, "FIVEAXIS_") && !b.env[name] {
		t.Errorf("%s: fiveaxis does not read %s", where, name)
	}
}

// checkURL checks a health URL: its path is a route and its port is port.
func (b *binaryFacts) checkURL(t testing.TB, where, raw, port string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	if !b.routes[u.Path] {
		t.Errorf("%s: %s is not an endpoint of fiveaxis (have %v)", where, u.Path, keys(b.routes))
	}
	if u.Port() != port {
		t.Errorf("%s: port %s, but the process listens on %s", where, u.Port(), port)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// portOf returns the port of a listen address, or def when it is empty.
func portOf(listen, def string) string {
	if listen == "" {
		return def
	}
	_, p, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	return p
}

// dockerfile is the parsed Dockerfile: instructions with continuation lines
// joined.
type dockerInstr struct {
	Cmd  string
	Args string
}

func parseDockerfile(t testing.TB, path string) []dockerInstr {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []dockerInstr
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, dockerInstr{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// execForm parses a JSON-array instruction argument.
func execForm(t testing.TB, s string) []string {
	t.Helper()
	var out []string
	if err := yaml.Unmarshal([]byte(s), &out); err != nil {
		t.Errorf("not an exec-form array: %s", s)
	}
	return out
}

func TestDeployDockerfile(t *testing.T) {
	b := setupDeploy(t)
	instrs := parseDockerfile(t, filepath.Join(deployDir, "Dockerfile"))
	var froms, runs []string
	env := map[string]string{}
	var user, volume, expose string
	var entry, cmd, health []string
	for _, in := range instrs {
		switch in.Cmd {
		case "FROM":
			froms = append(froms, in.Args)
		case "RUN":
			runs = append(runs, in.Args)
		case "ENV":
			for _, kv := range strings.Fields(in.Args) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
				b.checkEnv(t, "Dockerfile ENV", k)
			}
		case "USER":
			user = in.Args
		case "VOLUME":
			volume = strings.Join(execForm(t, in.Args), " ")
		case "EXPOSE":
			expose = in.Args
		case "ENTRYPOINT":
			entry = execForm(t, in.Args)
		case "CMD":
			cmd = execForm(t, in.Args)
		case "HEALTHCHECK":
			_, c, _ := strings.Cut(in.Args, "CMD ")
			health = execForm(t, c)
		}
	}
	if len(froms) < 2 {
		t.Errorf("not multi-stage: %v", froms)
	}
	if last := froms[len(froms)-1]; !strings.HasPrefix(last, "gcr.io/distroless/static") && last != "scratch" {
		t.Errorf("final image %q is not distroless static or scratch", last)
	}
	build := strings.Join(runs, "\n")
	for _, want := range []string{"CGO_ENABLED=0", "-X main.version=", "-X main.commit=", "./cmd/fiveaxis", "-trimpath"} {
		if !strings.Contains(build, want) {
			t.Errorf("build step lacks %q", want)
		}
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("USER %q: must be non-root", user)
	}
	if env["FIVEAXIS_DATA_DIR"] == "" || volume != env["FIVEAXIS_DATA_DIR"] {
		t.Errorf("VOLUME %q is not FIVEAXIS_DATA_DIR %q", volume, env["FIVEAXIS_DATA_DIR"])
	}
	port := portOf(env["FIVEAXIS_LISTEN"], b.listenDef)
	if expose != port {
		t.Errorf("EXPOSE %s, but serve listens on %s", expose, port)
	}
	if len(entry) != 1 || entry[0] != "/usr/local/bin/fiveaxis" {
		t.Errorf("ENTRYPOINT %v", entry)
	}
	if _, l := b.checkArgs(t, "Dockerfile CMD", cmd); l != "" {
		port = portOf(l, port)
	}
	if len(health) < 2 || health[0] != entry[0] {
		t.Fatalf("HEALTHCHECK %v does not run the binary", health)
	}
	b.checkArgs(t, "Dockerfile HEALTHCHECK", health[1:])
	b.checkURL(t, "Dockerfile HEALTHCHECK", health[slices.Index(health, "--url")+1], port)
}

// composeFile is the part of compose.yaml the test reads.
type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Secrets     []string          `yaml:"secrets"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		DependsOn map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
	} `yaml:"services"`
	Secrets map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
	Volumes map[string]any `yaml:"volumes"`
}

func TestDeployCompose(t *testing.T) {
	b := setupDeploy(t)
	data, err := os.ReadFile(filepath.Join(deployDir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	dockerEnv := map[string]string{}
	for _, in := range parseDockerfile(t, filepath.Join(deployDir, "Dockerfile")) {
		if in.Cmd == "ENV" {
			for _, kv := range strings.Fields(in.Args) {
				k, v, _ := strings.Cut(kv, "=")
				dockerEnv[k] = v
			}
		}
	}
	commands := map[string]bool{}
	for name, s := range c.Services {
		for dep := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
			}
		}
		for _, sec := range s.Secrets {
			if _, ok := c.Secrets[sec]; !ok {
				t.Errorf("%s uses undeclared secret %s", name, sec)
			}
		}
		if len(s.Healthcheck.Test) == 0 && name != "migrate" {
			t.Errorf("%s has no healthcheck", name)
		}
		if !strings.HasPrefix(s.Image, "fiveaxis") {
			continue
		}
		where := "compose " + name
		cmd, listen := b.checkArgs(t, where, s.Command)
		if cmd != nil {
			commands[cmd.Name()] = true
		}
		port := portOf(listen, portOf(dockerEnv["FIVEAXIS_LISTEN"], b.listenDef))
		for k, v := range s.Environment {
			b.checkEnv(t, where, k)
			if strings.HasSuffix(k, "_FILE") {
				sec, ok := strings.CutPrefix(v, "/run/secrets/")
				if !ok || !slices.Contains(s.Secrets, sec) {
					t.Errorf("%s: %s=%s is not a secret the service mounts", where, k, v)
				}
			}
		}
		if u := s.Environment["FIVEAXIS_GITEA_URL"]; u != "" {
			pu, _ := url.Parse(u)
			if _, ok := c.Services[pu.Hostname()]; !ok {
				t.Errorf("%s: FIVEAXIS_GITEA_URL %s is not a compose service", where, u)
			}
		}
		for _, p := range s.Ports {
			if _, container, _ := strings.Cut(p, ":"); container != port {
				t.Errorf("%s: publishes %s, but listens on %s", where, p, port)
			}
		}
		for _, v := range s.Volumes {
			if _, mount, _ := strings.Cut(v, ":"); mount != dockerEnv["FIVEAXIS_DATA_DIR"] {
				t.Errorf("%s: volume %s is not the data dir %s", where, v, dockerEnv["FIVEAXIS_DATA_DIR"])
			}
		}
		if h := s.Healthcheck.Test; len(h) > 2 {
			if h[0] != "CMD" || h[1] != "/usr/local/bin/fiveaxis" {
				t.Errorf("%s: healthcheck %v does not run the binary (the image has no shell)", where, h)
				continue
			}
			b.checkArgs(t, where+" healthcheck", h[2:])
			b.checkURL(t, where+" healthcheck", h[slices.Index(h, "--url")+1], port)
		}
	}
	for _, want := range []string{"serve", "worker"} {
		if !commands[want] {
			t.Errorf("compose runs no fiveaxis %s", want)
		}
	}
	if allow := c.Services["gitea"].Environment["GITEA__webhook__ALLOWED_HOST_LIST"]; !strings.Contains(allow, "fiveaxis") {
		t.Errorf("Gitea's ALLOWED_HOST_LIST %q does not allow the fiveaxis service", allow)
	}
	if _, ok := c.Services["postgres"]; !ok {
		t.Error("no postgres service")
	}
}

// k8sObject is the part of a Kubernetes object the test reads.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Replicas *int `yaml:"replicas"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		MinAvailable any `yaml:"minAvailable"`
		// Service
		ServiceSelector map[string]string `yaml:"-"`
		Ports           []struct {
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				SecurityContext struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
				} `yaml:"securityContext"`
				Containers []k8sContainer `yaml:"containers"`
				Volumes    []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
					Secret *struct {
						SecretName string `yaml:"secretName"`
						Items      []struct {
							Key string `yaml:"key"`
						} `yaml:"items"`
					} `yaml:"secret"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
	raw map[string]any
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

type k8sContainer struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Env   []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom any    `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	StartupProbe   *k8sProbe `yaml:"startupProbe"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
	} `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

func TestDeployKubernetes(t *testing.T) {
	b := setupDeploy(t)
	dir := filepath.Join(deployDir, "k8s")
	var kust struct {
		Resources []string `yaml:"resources"`
		Images    []struct {
			Name string `yaml:"name"`
		} `yaml:"images"`
	}
	readYAML(t, filepath.Join(dir, "kustomization.yaml"), &kust)
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	var want []string
	for _, f := range files {
		if filepath.Base(f) != "kustomization.yaml" {
			want = append(want, filepath.Base(f))
		}
	}
	got := slices.Sorted(slices.Values(kust.Resources))
	if !slices.Equal(got, want) {
		t.Errorf("kustomization resources %v, files %v", got, want)
	}

	objs := map[string]*k8sObject{} // kind/name
	for _, r := range kust.Resources {
		data, err := os.ReadFile(filepath.Join(dir, r))
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var o k8sObject
			if err := dec.Decode(&o); err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("%s: %v", r, err)
				}
				break
			}
			if o.Kind == "" || o.Metadata.Name == "" {
				t.Errorf("%s: object without kind or name", r)
			}
			objs[o.Kind+"/"+o.Metadata.Name] = &o
		}
	}
	cm, sec := objs["ConfigMap/fiveaxis"], objs["Secret/fiveaxis"]
	if cm == nil || sec == nil {
		t.Fatalf("no ConfigMap or Secret named fiveaxis: %v", keys(mapKeys(objs)))
	}
	// The config file in the ConfigMap is a valid config, strictly parsed.
	cfg, err := parseConfig([]byte(cm.Data["fiveaxis.yaml"]), lookup(nil))
	if err != nil {
		t.Fatalf("ConfigMap fiveaxis.yaml: %v", err)
	}
	if err := cfg.validate(); err != nil {
		t.Errorf("ConfigMap fiveaxis.yaml: %v", err)
	}
	if cfg.Database != "" {
		t.Error("ConfigMap holds the database URL; it belongs in the Secret")
	}

	deployments := map[string]*k8sObject{}
	for _, o := range objs {
		if o.Kind == "Deployment" {
			deployments[o.Metadata.Name] = o
		}
	}
	commands := map[string]bool{}
	for name, d := range deployments {
		where := "Deployment " + name
		if !mapSubset(d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels) {
			t.Errorf("%s: selector does not match the pod labels", where)
		}
		if !d.Spec.Template.Spec.SecurityContext.RunAsNonRoot {
			t.Errorf("%s: runAsNonRoot is not set", where)
		}
		mounts := map[string]string{} // volume name -> path
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, m := range c.VolumeMounts {
				mounts[m.Name] = m.MountPath
			}
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Image != kust.Images[0].Name {
				t.Errorf("%s: image %q is not the kustomize image %q", where, c.Image, kust.Images[0].Name)
			}
			cmd, listen := b.checkArgs(t, where, c.Args)
			if cmd != nil {
				commands[cmd.Name()] = true
			}
			port := portOf(listen, portOf(cfg.Listen, b.listenDef))
			named := map[string]string{}
			for _, p := range c.Ports {
				named[p.Name] = strconv.Itoa(p.ContainerPort)
				if strconv.Itoa(p.ContainerPort) != port {
					t.Errorf("%s: containerPort %d, but the process listens on %s", where, p.ContainerPort, port)
				}
			}
			for _, pr := range []struct {
				name string
				p    *k8sProbe
				path string
			}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}, {"startup", c.StartupProbe, ""}} {
				if pr.p == nil || pr.p.HTTPGet == nil {
					if pr.path != "" {
						t.Errorf("%s: no %s probe", where, pr.name)
					}
					continue
				}
				if pr.path != "" && pr.p.HTTPGet.Path != pr.path {
					t.Errorf("%s: %s probe on %s, want %s", where, pr.name, pr.p.HTTPGet.Path, pr.path)
				}
				p := pr.p.HTTPGet.Port
				if n, ok := named[p]; ok {
					p = n
				}
				b.checkURL(t, where+" "+pr.name+" probe", "http://x:"+p+pr.p.HTTPGet.Path, port)
			}
			if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" {
				t.Errorf("%s: no cpu and memory requests", where)
			}
			for _, e := range c.Env {
				b.checkEnv(t, where, e.Name)
				if e.ValueFrom != nil {
					t.Errorf("%s: %s from valueFrom: secrets are mounted as files (*_FILE)", where, e.Name)
				}
				switch {
				case e.Name == "FIVEAXIS_CONFIG":
					if e.Value != mounts["config"]+"/fiveaxis.yaml" {
						t.Errorf("%s: FIVEAXIS_CONFIG=%s is not the mounted ConfigMap key", where, e.Value)
					}
				case strings.HasSuffix(e.Name, "_FILE"):
					vol, key := "", filepath.Base(e.Value)
					for n, p := range mounts {
						if filepath.Dir(e.Value) == p {
							vol = n
						}
					}
					if vol != "secrets" || sec.StringData[key] == "" {
						t.Errorf("%s: %s=%s is not a key of the mounted Secret", where, e.Name, e.Value)
					}
					for _, v := range d.Spec.Template.Spec.Volumes {
						if v.Name == vol && v.Secret != nil && len(v.Secret.Items) > 0 &&
							!slices.ContainsFunc(v.Secret.Items, func(it struct {
								Key string `yaml:"key"`
							}) bool {
								return it.Key == key
							}) {
							t.Errorf("%s: %s names %s, which the Secret volume does not project", where, e.Name, key)
						}
					}
				}
			}
		}
	}
	for _, want := range []string{"serve", "worker"} {
		if !commands[want] {
			t.Errorf("no Deployment runs fiveaxis %s", want)
		}
	}
	// The Service selects the serve pods and targets a named port of them.
	svc := objs["Service/fiveaxis"]
	if svc == nil {
		t.Fatal("no Service fiveaxis")
	}
	var svcSpec struct {
		Spec struct {
			Selector map[string]string `yaml:"selector"`
		} `yaml:"spec"`
	}
	readYAML(t, filepath.Join(dir, "service.yaml"), &svcSpec)
	matched := 0
	for name, d := range deployments {
		if mapSubset(svcSpec.Spec.Selector, d.Spec.Template.Metadata.Labels) {
			matched++
			if !strings.HasSuffix(name, "serve") {
				t.Errorf("Service selects %s", name)
			}
			for _, p := range svc.Spec.Ports {
				if !slices.ContainsFunc(d.Spec.Template.Spec.Containers[0].Ports, func(cp struct {
					Name          string `yaml:"name"`
					ContainerPort int    `yaml:"containerPort"`
				}) bool {
					return cp.Name == p.TargetPort || strconv.Itoa(cp.ContainerPort) == p.TargetPort
				}) {
					t.Errorf("Service targetPort %s is not a port of %s", p.TargetPort, name)
				}
			}
		}
	}
	if matched != 1 {
		t.Errorf("Service selects %d Deployments, want 1 (serve)", matched)
	}
	// Every Deployment has a PodDisruptionBudget that selects it.
	for name, d := range deployments {
		covered := false
		for _, o := range objs {
			if o.Kind == "PodDisruptionBudget" && mapSubset(o.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels) {
				covered = true
			}
		}
		if !covered {
			t.Errorf("no PodDisruptionBudget for %s", name)
		}
	}
}

func readYAML(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func mapSubset(sub, super map[string]string) bool {
	if len(sub) == 0 {
		return false
	}
	for k, v := range sub {
		if super[k] != v {
			return false
		}
	}
	return true
}

func mapKeys[V any](m map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func TestDeploySystemd(t *testing.T) {
	b := setupDeploy(t)
	data, err := os.ReadFile(filepath.Join(deployDir, "systemd", "fiveaxis.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("not key=value: %s", line)
			continue
		}
		unit[k] = append(unit[k], v)
	}
	one := func(k string) string {
		if len(unit[k]) == 0 {
			return ""
		}
		return unit[k][len(unit[k])-1]
	}
	env := map[string]string{}
	for _, e := range unit["Environment"] {
		k, v, _ := strings.Cut(e, "=")
		b.checkEnv(t, "systemd Environment", k)
		env[k] = v
	}
	creds := map[string]bool{}
	for _, c := range unit["LoadCredential"] {
		name, _, _ := strings.Cut(c, ":")
		creds[name] = true
	}
	for k, v := range env {
		if strings.HasSuffix(k, "_FILE") {
			if c, ok := strings.CutPrefix(v, "%d/"); !ok || !creds[c] {
				t.Errorf("%s=%s is not a LoadCredential", k, v)
			}
		}
	}
	commands := map[string]bool{}
	for _, k := range []string{"ExecStartPre", "ExecStart"} {
		for _, line := range unit[k] {
			f := strings.Fields(line)
			if f[0] != "/usr/local/bin/fiveaxis" {
				t.Errorf("%s runs %s", k, f[0])
				continue
			}
			if c, _ := b.checkArgs(t, "systemd "+k, f[1:]); c != nil {
				commands[c.Name()] = true
			}
		}
	}
	if !commands["serve"] {
		t.Error("ExecStart does not run fiveaxis serve")
	}
	if !slices.Contains(strings.Fields(one("ReadWritePaths")), env["FIVEAXIS_DATA_DIR"]) || env["FIVEAXIS_DATA_DIR"] != "/var/lib/"+one("StateDirectory") {
		t.Errorf("data dir %q is not the StateDirectory and a ReadWritePath", env["FIVEAXIS_DATA_DIR"])
	}
	for k, want := range map[string]string{
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "yes",
		"PrivateDevices": "yes", "RestrictSUIDSGID": "yes", "CapabilityBoundingSet": "",
	} {
		if got, ok := unit[k]; !ok || one(k) != want {
			t.Errorf("%s=%q, want %q (set: %v)", k, one(k), want, got != nil)
		}
	}
	if u := one("User"); u == "" || u == "root" {
		t.Errorf("User=%q: must be a dedicated user", u)
	}
	if _, err := fmt.Sscan(strings.TrimSuffix(one("RestartSec"), "s"), new(int)); err != nil {
		t.Errorf("RestartSec=%q", one("RestartSec"))
	}
}

// TestDeployAlerts checks that the alerting rules use metrics the binary
// exports, with label values it sets.
func TestDeployAlerts(t *testing.T) {
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, filepath.Join(deployDir, "prometheus", "alerts.yaml"), &rules)
	// Metric names and label values: string literals of reviewer/queue and
	// reviewer (the outcomes).
	lits := map[string]bool{}
	for _, dir := range []string{"../../reviewer/queue", "../../reviewer"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						lits[s] = true
					}
				}
				return true
			})
		}
	}
	metric := regexp.MustCompile(`\b(fiveaxis_[a-z_]+?)(_bucket|_sum|_count)?\b`)
	label := regexp.MustCompile(`(kind|outcome|state)=~?"([^"]+)"`)
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if r.Alert == "" || r.Expr == "" || r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
				t.Errorf("rule %q: needs alert, expr, severity and summary", r.Alert)
			}
			for _, m := range metric.FindAllStringSubmatch(r.Expr, -1) {
				if !lits[m[1]] {
					t.Errorf("%s: metric %s is not exported by fiveaxis", r.Alert, m[1])
				}
			}
			for _, m := range label.FindAllStringSubmatch(r.Expr, -1) {
				if m[1] == "state" {
					continue // River's job states
				}
				for _, v := range strings.Split(m[2], "|") {
					if !lits[v] {
						t.Errorf("%s: %s=%q is not a value fiveaxis sets", r.Alert, m[1], v)
					}
				}
			}
		}
	}
	if n < 4 {
		t.Errorf("%d alert rules, want at least 4", n)
	}
}
