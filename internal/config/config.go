// Package config loads idgate's configuration: defaults, then an optional
// JSON config file, then IDGATE_* environment variables, then flags (each
// later source wins), and validates the result reporting every problem at
// once.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Config is the server's configuration.
type Config struct {
	ConfigFile  string `json:"-"`
	DataDir     string `json:"data_dir"`
	Addr        string `json:"addr"`
	PublicURL   string `json:"public_url"`
	DatabaseURL string `json:"database_url"`
	SMTPURL     string `json:"smtp_url"`
	SMTPFrom    string `json:"smtp_from"`
	MasterKey   string `json:"master_key"`
	AdminToken  string `json:"admin_token"`
	Region      string `json:"region"`
	LogLevel    string `json:"log_level"`
	LogFormat   string `json:"log_format"`
	TrustProxy  bool   `json:"trust_proxy"`
	// AuditRetention is how long events are kept ("" or "0": forever).
	AuditRetention string `json:"audit_retention"`
}

// Retention returns the audit retention period (0: keep forever).
func (c Config) Retention() time.Duration {
	d, _ := time.ParseDuration(c.AuditRetention)
	return d
}

// option describes one setting: its flag, environment variable, default
// and help, and where it lives in Config.
type option struct {
	flag, env, def, help string
	field                func(*Config) *string
}

var options = []option{
	{"config", "IDGATE_CONFIG", "", "optional JSON config file (keys: data_dir, addr, public_url, ...)", func(c *Config) *string { return &c.ConfigFile }},
	{"data-dir", "IDGATE_DATA_DIR", "./idgate-data", "directory of the embedded SQLite database, master key and admin token", func(c *Config) *string { return &c.DataDir }},
	{"addr", "IDGATE_ADDR", "127.0.0.1:8080", "address to listen on", func(c *Config) *string { return &c.Addr }},
	{"public-url", "IDGATE_PUBLIC_URL", "", "public base URL, the issuers' prefix (default http://<addr>)", func(c *Config) *string { return &c.PublicURL }},
	{"database-url", "IDGATE_DATABASE_URL", "", "postgres://... to use PostgreSQL instead of the embedded SQLite database", func(c *Config) *string { return &c.DatabaseURL }},
	{"smtp-url", "IDGATE_SMTP_URL", "", "smtp://user:pass@host:port (STARTTLS when offered) or smtps://; unset: development outbox", func(c *Config) *string { return &c.SMTPURL }},
	{"smtp-from", "IDGATE_SMTP_FROM", "idgate <no-reply@localhost>", "From address of emails", func(c *Config) *string { return &c.SMTPFrom }},
	{"master-key", "IDGATE_MASTER_KEY", "", "32-byte master key (64 hex chars or base64); unset: generated in the data dir", func(c *Config) *string { return &c.MasterKey }},
	{"admin-token", "IDGATE_ADMIN_TOKEN", "", "bearer token of the admin API; unset: generated in the data dir", func(c *Config) *string { return &c.AdminToken }},
	{"region", "IDGATE_REGION", "local", "region prefix of new user pool ids", func(c *Config) *string { return &c.Region }},
	{"log-level", "IDGATE_LOG_LEVEL", "info", "debug, info, warn or error", func(c *Config) *string { return &c.LogLevel }},
	{"log-format", "IDGATE_LOG_FORMAT", "json", "json or text", func(c *Config) *string { return &c.LogFormat }},
	{"audit-retention", "IDGATE_AUDIT_RETENTION", "0", "keep audit events this long, e.g. 2160h; older ones are purged hourly behind a checkpoint (0: forever)", func(c *Config) *string { return &c.AuditRetention }},
}

const trustProxyEnv = "IDGATE_TRUST_PROXY"

// Register adds every option's flag to fs.
func Register(fs *pflag.FlagSet) {
	for _, o := range options {
		fs.String(o.flag, o.def, o.help+" ["+o.env+"]")
	}
	fs.Bool("trust-proxy", false, "take the client IP from X-Forwarded-For ["+trustProxyEnv+"]")
}

// Usage documents every setting: flag, environment variable, default and
// meaning, for `idgate --help`.
func Usage() string {
	var b strings.Builder
	b.WriteString("Settings (flag, environment variable, default):\n")
	for _, o := range options {
		def := o.def
		if def == "" {
			def = "(unset)"
		}
		fmt.Fprintf(&b, "  --%-16s %-24s %s\n      %s\n", o.flag, o.env, def, o.help)
	}
	fmt.Fprintf(&b, "  --%-16s %-24s %s\n      %s\n", "trust-proxy", trustProxyEnv, "false", "take the client IP from X-Forwarded-For")
	return b.String()
}

// Load builds the configuration from defaults, file, environment and the
// flags set on fs (fs may be nil).
func Load(fs *pflag.FlagSet, getenv func(string) string) (Config, error) {
	var c Config
	for _, o := range options {
		*o.field(&c) = o.def
	}
	pick := func(o option) (string, bool) {
		if fs != nil {
			if f := fs.Lookup(o.flag); f != nil && f.Changed {
				return f.Value.String(), true
			}
		}
		if v := getenv(o.env); v != "" {
			return v, true
		}
		return "", false
	}
	// The config file's location comes from flag or env only.
	if v, ok := pick(options[0]); ok {
		c.ConfigFile = v
	}
	if c.ConfigFile != "" {
		b, err := os.ReadFile(c.ConfigFile)
		if err != nil {
			return c, fmt.Errorf("config file: %w", err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return c, fmt.Errorf("config file %s: %w", c.ConfigFile, err)
		}
	}
	for _, o := range options[1:] {
		if v, ok := pick(o); ok {
			*o.field(&c) = v
		}
	}
	if v := getenv(trustProxyEnv); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("%s: must be true or false", trustProxyEnv)
		}
		c.TrustProxy = b
	}
	if fs != nil {
		if f := fs.Lookup("trust-proxy"); f != nil && f.Changed {
			c.TrustProxy = f.Value.String() == "true"
		}
	}
	if c.PublicURL == "" {
		// A wildcard listen address is no issuer: name the machine as
		// localhost (set --public-url for anything reachable from elsewhere).
		host, port, err := net.SplitHostPort(c.Addr)
		if err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
			c.PublicURL = "http://" + net.JoinHostPort("localhost", port)
		} else {
			c.PublicURL = "http://" + c.Addr
		}
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return c, c.Validate()
}

var regionRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if _, port, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr %q: must be host:port", c.Addr))
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		errs = append(errs, fmt.Errorf("addr %q: the port must be a number from 0 to 65535", c.Addr))
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("public-url %q: must be an absolute http(s) URL without query", c.PublicURL))
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			errs = append(errs, errors.New("database-url: must be a postgres:// URL"))
		}
	}
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
			errs = append(errs, errors.New("smtp-url: must be smtp://[user:pass@]host:port or smtps://..."))
		}
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data-dir: must not be empty"))
	}
	if !regionRe.MatchString(c.Region) {
		errs = append(errs, fmt.Errorf("region %q: must be lowercase letters, digits and dashes", c.Region))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log-level %q: must be debug, info, warn or error", c.LogLevel))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("log-format %q: must be json or text", c.LogFormat))
	}
	if d, err := time.ParseDuration(c.AuditRetention); err != nil || d < 0 || (d > 0 && d < time.Hour) {
		errs = append(errs, fmt.Errorf("audit-retention %q: must be 0 or a duration of at least 1h, e.g. 2160h", c.AuditRetention))
	}
	if c.AdminToken != "" && len(c.AdminToken) < 32 {
		errs = append(errs, errors.New("admin-token: must be at least 32 characters"))
	}
	return errors.Join(errs...)
}
