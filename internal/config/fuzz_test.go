package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idgate/idgate/internal/config"
)

// FuzzLoad feeds arbitrary environment values and config file contents to
// Load. It must never panic, and whatever it accepts must validate, with a
// public URL without a trailing slash.
func FuzzLoad(f *testing.F) {
	f.Add("127.0.0.1:8080", "", "", "", "info", "", `{}`)
	f.Add(":0", "https://id.example/", "postgres://u:p@h/db", "smtp://u:p@h:25", "debug", "true", `{"region":"eu"}`)
	f.Add("[::1]:443", "http://[::1]/", "postgresql://", "smtps://h", "warn", "0", `{"addr":"x"}`)
	f.Add("host", "%zz", "postgres://%", "smtp://%", "ERROR", "maybe", `{"log_level":"loud","unknown":1}`)
	f.Add("", "", "", "", "", "", `null`)
	f.Add("a:b:c", "https://a b", "\x00", "smtp://\n", "info\n", "T", `[1,2]`)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, addr, publicURL, dbURL, smtpURL, logLevel, trustProxy, file string) {
		path := filepath.Join(dir, "c.json")
		useFile := file != ""
		if useFile {
			if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		getenv := func(k string) string {
			switch k {
			case "IDGATE_ADDR":
				return addr
			case "IDGATE_PUBLIC_URL":
				return publicURL
			case "IDGATE_DATABASE_URL":
				return dbURL
			case "IDGATE_SMTP_URL":
				return smtpURL
			case "IDGATE_LOG_LEVEL":
				return logLevel
			case "IDGATE_TRUST_PROXY":
				return trustProxy
			case "IDGATE_CONFIG":
				if useFile {
					return path
				}
			}
			return ""
		}
		c, err := config.Load(nil, getenv)
		if err != nil {
			return
		}
		if verr := c.Validate(); verr != nil {
			t.Fatalf("Load accepted a config that does not validate: %v (%+v)", verr, c)
		}
		if strings.HasSuffix(c.PublicURL, "/") {
			t.Fatalf("public URL %q keeps a trailing slash", c.PublicURL)
		}
		if publicURL == "" && !useFile && c.PublicURL != strings.TrimRight("http://"+c.Addr, "/") {
			t.Fatalf("public URL %q is not http://<addr> (%q)", c.PublicURL, c.Addr)
		}
	})
}
