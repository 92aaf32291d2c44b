package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/idgate/idgate/internal/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	config.Register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "idgate.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.Load(flags(t), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"data dir", c.DataDir, "./idgate-data"},
		{"addr", c.Addr, "127.0.0.1:8080"},
		{"public URL", c.PublicURL, "http://127.0.0.1:8080"},
		{"database URL", c.DatabaseURL, ""},
		{"SMTP URL", c.SMTPURL, ""},
		{"master key", c.MasterKey, ""},
		{"admin token", c.AdminToken, ""},
		{"region", c.Region, "local"},
		{"log level", c.LogLevel, "info"},
		{"log format", c.LogFormat, "json"},
		{"config file", c.ConfigFile, ""},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("default %s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if c.TrustProxy {
		t.Error("trust proxy on by default")
	}
	if c2, err := config.Load(nil, env(nil)); err != nil || c2 != c {
		t.Fatalf("Load(nil fs) = %+v, %v; want the same defaults as with an empty flag set", c2, err)
	}
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	file := writeFile(t, `{
		"data_dir": "/file/data", "addr": "127.0.0.1:1001", "public_url": "https://file.example",
		"region": "file", "log_level": "warn", "log_format": "text", "smtp_from": "file@example.com",
		"database_url": "postgres://file/db", "trust_proxy": true
	}`)
	e := env(map[string]string{
		"IDGATE_CONFIG":    file,
		"IDGATE_ADDR":      "127.0.0.1:2002",
		"IDGATE_REGION":    "env",
		"IDGATE_LOG_LEVEL": "error",
		"IDGATE_SMTP_URL":  "smtp://env:pw@mail.example:587",
	})
	fs := flags(t, "--region", "flag", "--smtp-url", "smtps://flag.example:465")
	c, err := config.Load(fs, e)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"data_dir (file over default)", c.DataDir, "/file/data"},
		{"public_url (file)", c.PublicURL, "https://file.example"},
		{"log_format (file)", c.LogFormat, "text"},
		{"smtp_from (file)", c.SMTPFrom, "file@example.com"},
		{"database_url (file)", c.DatabaseURL, "postgres://file/db"},
		{"addr (env over file)", c.Addr, "127.0.0.1:2002"},
		{"log_level (env over file)", c.LogLevel, "error"},
		{"region (flag over env and file)", c.Region, "flag"},
		{"smtp_url (flag over env)", c.SMTPURL, "smtps://flag.example:465"},
		{"config file", c.ConfigFile, file},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if !c.TrustProxy {
		t.Error("trust_proxy from the file was lost")
	}

	// The config file location itself: flag over env.
	other := writeFile(t, `{"region": "other"}`)
	c, err = config.Load(flags(t, "--config", other), env(map[string]string{"IDGATE_CONFIG": file}))
	if err != nil || c.Region != "other" || c.DataDir != "./idgate-data" {
		t.Fatalf("--config over IDGATE_CONFIG: %+v, %v", c, err)
	}

	// trust-proxy: flag over env over file.
	c, err = config.Load(flags(t, "--trust-proxy=false"), env(map[string]string{"IDGATE_CONFIG": file, "IDGATE_TRUST_PROXY": "true"}))
	if err != nil || c.TrustProxy {
		t.Fatalf("--trust-proxy=false over env true: %v, %v", c.TrustProxy, err)
	}
	c, err = config.Load(flags(t), env(map[string]string{"IDGATE_CONFIG": file, "IDGATE_TRUST_PROXY": "false"}))
	if err != nil || c.TrustProxy {
		t.Fatalf("IDGATE_TRUST_PROXY=false over file true: %v, %v", c.TrustProxy, err)
	}
	if _, err := config.Load(flags(t), env(map[string]string{"IDGATE_TRUST_PROXY": "maybe"})); err == nil || !strings.Contains(err.Error(), "IDGATE_TRUST_PROXY") {
		t.Fatalf("IDGATE_TRUST_PROXY=maybe: %v", err)
	}
}

func TestEveryOptionHasFlagAndEnv(t *testing.T) {
	t.Parallel()
	pairs := map[string]string{
		"data-dir": "IDGATE_DATA_DIR", "addr": "IDGATE_ADDR", "public-url": "IDGATE_PUBLIC_URL",
		"database-url": "IDGATE_DATABASE_URL", "smtp-url": "IDGATE_SMTP_URL", "master-key": "IDGATE_MASTER_KEY",
		"admin-token": "IDGATE_ADMIN_TOKEN", "config": "IDGATE_CONFIG", "log-level": "IDGATE_LOG_LEVEL",
	}
	fs := flags(t)
	for flag, envName := range pairs {
		f := fs.Lookup(flag)
		if f == nil {
			t.Errorf("flag --%s missing", flag)
			continue
		}
		if !strings.Contains(f.Usage, envName) {
			t.Errorf("--%s usage %q does not name %s", flag, f.Usage, envName)
		}
	}
	// Env values reach the config.
	c, err := config.Load(flags(t), env(map[string]string{
		"IDGATE_DATA_DIR": "/d", "IDGATE_ADDR": "0.0.0.0:9", "IDGATE_PUBLIC_URL": "https://id.example",
		"IDGATE_DATABASE_URL": "postgresql://u@h/db", "IDGATE_SMTP_URL": "smtp://h:25", "IDGATE_MASTER_KEY": "k",
		"IDGATE_ADMIN_TOKEN": strings.Repeat("t", 32),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/d" || c.Addr != "0.0.0.0:9" || c.PublicURL != "https://id.example" || c.DatabaseURL != "postgresql://u@h/db" ||
		c.SMTPURL != "smtp://h:25" || c.MasterKey != "k" || c.AdminToken != strings.Repeat("t", 32) {
		t.Fatalf("env not applied: %+v", c)
	}
}

func TestPublicURLDefaultAndTrim(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, nil, "http://127.0.0.1:8080"},
		{[]string{"--addr", "127.0.0.1:9999"}, nil, "http://127.0.0.1:9999"},
		{nil, map[string]string{"IDGATE_ADDR": "localhost:7000"}, "http://localhost:7000"},
		{[]string{"--public-url", "https://id.example.com/"}, nil, "https://id.example.com"},
		{[]string{"--public-url", "https://id.example.com/base///"}, nil, "https://id.example.com/base"},
		{nil, map[string]string{"IDGATE_PUBLIC_URL": "https://env.example/"}, "https://env.example"},
	}
	for _, c := range cases {
		got, err := config.Load(flags(t, c.args...), env(c.env))
		if err != nil {
			t.Errorf("%v %v: %v", c.args, c.env, err)
			continue
		}
		if got.PublicURL != c.want {
			t.Errorf("%v %v: public URL %q, want %q", c.args, c.env, got.PublicURL, c.want)
		}
	}
}

// TestValidateReportsEverything checks that every problem is reported at
// once, each naming its option.
func TestValidateReportsEverything(t *testing.T) {
	t.Parallel()
	_, err := config.Load(flags(t,
		"--addr", "nonsense",
		"--public-url", "ftp://x",
		"--database-url", "mysql://db",
		"--smtp-url", "http://mail",
		"--data-dir", "",
		"--region", "Bad Region",
		"--log-level", "loud",
		"--log-format", "xml",
		"--admin-token", "short",
	), env(nil))
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, name := range []string{"addr", "public-url", "database-url", "smtp-url", "data-dir", "region", "log-level", "log-format", "admin-token"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not mention %s:\n%v", name, err)
		}
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 9 {
		t.Errorf("want 9 joined errors, got %v", err)
	}
	// A single problem is reported alone.
	_, err = config.Load(flags(t, "--log-level", "loud"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "log-level") || strings.Contains(err.Error(), "addr") {
		t.Errorf("one bad value: %v", err)
	}
	// Validate works on a Config directly.
	if err := (config.Config{}).Validate(); err == nil {
		t.Error("zero Config validates")
	}
	for _, u := range []string{"https://id.example?x=1", "https://id.example#f", "id.example", "https://"} {
		if _, err := config.Load(flags(t, "--public-url", u), env(nil)); err == nil || !strings.Contains(err.Error(), "public-url") {
			t.Errorf("public URL %q: %v", u, err)
		}
	}
}

func TestConfigFileErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"unknown key":    `{"data_dir": "/x", "listen": ":80"}`,
		"wrong type":     `{"addr": 8080}`,
		"not json":       `addr = "x"`,
		"flag spelling":  `{"data-dir": "/x"}`,
		"master key via": `{"config": "/other"}`,
	}
	for name, content := range cases {
		_, err := config.Load(flags(t, "--config", writeFile(t, content)), env(nil))
		if err == nil {
			t.Errorf("%s: config file %s accepted", name, content)
		}
	}
	_, err := config.Load(flags(t, "--config", writeFile(t, `{"data_dir": "/x", "listen": ":80"}`)), env(nil))
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("unknown key error does not name it: %v", err)
	}
	if _, err := config.Load(flags(t, "--config", filepath.Join(t.TempDir(), "missing.json")), env(nil)); err == nil {
		t.Error("missing config file accepted")
	}
}
