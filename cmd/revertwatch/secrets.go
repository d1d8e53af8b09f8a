package main

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
)

// Secrets (the bearer token, the webhook's Authorization, NATS
// credentials) come from files or the environment only: a flag's value is
// in the process list (ps, /proc/PID/cmdline) and the shell's history for
// anyone on the host to read.

// The environment variables of the secrets.
const (
	webhookAuthEnv  = "REVERTWATCH_WEBHOOK_AUTHORIZATION"
	natsCredsEnv    = "REVERTWATCH_NATS_CREDS"
	natsTokenEnv    = "REVERTWATCH_NATS_TOKEN"
	natsUserEnv     = "REVERTWATCH_NATS_USER"
	natsPasswordEnv = "REVERTWATCH_NATS_PASSWORD"
)

// secretFile reads a secret from file (flag names it in errors), trimmed;
// an empty file is an error, for an empty secret is always a mistake.
func secretFile(flag, file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s %s is empty", flag, file)
	}
	return s, nil
}

// webhookAuthorization is the Authorization header of --webhook: from
// --webhook-authorization-file, else $REVERTWATCH_WEBHOOK_AUTHORIZATION.
// The old --webhook-authorization VALUE is refused rather than warned
// about: by the time a warning is read, the secret has been in the
// process list.
func (f *sinkFlags) webhookAuthorization() (string, error) {
	if f.webhookAuth != "" {
		return "", &exitError{code: exitUsage, err: fmt.Errorf("--webhook-authorization VALUE is refused: a secret on the command line is readable in the process list; put it in a file (--webhook-authorization-file FILE) or in $%s", webhookAuthEnv)}
	}
	if f.webhookAuthFile != "" {
		s, err := secretFile("--webhook-authorization-file", f.webhookAuthFile)
		if err != nil {
			return "", &exitError{code: exitUsage, err: err}
		}
		return s, nil
	}
	return strings.TrimSpace(os.Getenv(webhookAuthEnv)), nil
}

// natsAuth refuses credentials written in a NATS URL and returns the
// connection options of those in the environment: a credentials file
// ($REVERTWATCH_NATS_CREDS), a token, or a user and password.
func natsAuth(flag, raw string) ([]nats.Option, error) {
	for _, one := range strings.Split(raw, ",") {
		u, err := url.Parse(strings.TrimSpace(one))
		if err == nil && u.User != nil {
			return nil, fmt.Errorf("%s: credentials in the URL are refused (the process list shows them); set $%s (a .creds file), $%s, or $%s and $%s",
				flag, natsCredsEnv, natsTokenEnv, natsUserEnv, natsPasswordEnv)
		}
	}
	var opts []nats.Option
	if f := os.Getenv(natsCredsEnv); f != "" {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("$%s: %w", natsCredsEnv, err)
		}
		opts = append(opts, nats.UserCredentials(f))
	}
	if t := os.Getenv(natsTokenEnv); t != "" {
		opts = append(opts, nats.Token(t))
	}
	if u := os.Getenv(natsUserEnv); u != "" {
		opts = append(opts, nats.UserInfo(u, os.Getenv(natsPasswordEnv)))
	}
	return opts, nil
}
