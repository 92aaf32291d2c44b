package account

import "strings"

// DescribeUserAgent turns a User-Agent header into "Browser on OS" for
// session lists and sign-in alerts. It recognises the common browsers and
// systems and says "Unknown browser"/"unknown system" otherwise; it is a
// label for people, not a security decision.
func DescribeUserAgent(ua string) string {
	browser := "Unknown browser"
	switch {
	case ua == "":
	case strings.Contains(ua, "Edg/"):
		browser = "Edge"
	case strings.Contains(ua, "OPR/") || strings.Contains(ua, "Opera"):
		browser = "Opera"
	case strings.Contains(ua, "Firefox/"):
		browser = "Firefox"
	case strings.Contains(ua, "Chrome/") || strings.Contains(ua, "Chromium/") || strings.Contains(ua, "HeadlessChrome/"):
		browser = "Chrome"
	case strings.Contains(ua, "Safari/") && strings.Contains(ua, "Version/"):
		browser = "Safari"
	case strings.HasPrefix(ua, "curl/"):
		browser = "curl"
	case strings.HasPrefix(ua, "Go-http-client"):
		browser = "Go HTTP client"
	case strings.HasPrefix(ua, "node") || strings.Contains(ua, "undici"):
		browser = "Node.js"
	}
	system := "unknown system"
	switch {
	case ua == "":
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad"):
		system = "iOS"
	case strings.Contains(ua, "Android"):
		system = "Android"
	case strings.Contains(ua, "Windows"):
		system = "Windows"
	case strings.Contains(ua, "Mac OS X") || strings.Contains(ua, "Macintosh"):
		system = "macOS"
	case strings.Contains(ua, "CrOS"):
		system = "ChromeOS"
	case strings.Contains(ua, "Linux"):
		system = "Linux"
	}
	return browser + " on " + system
}
