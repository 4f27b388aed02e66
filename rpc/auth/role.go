package auth

import (
	"fmt"
	"strconv"
	"strings"
)

// Role is what a token's holder may do.
type Role string

const (
	// RoleTradingSystem submits fills (the trading system's fill stream).
	RoleTradingSystem Role = "trading-system"
	// RoleAdmin may call everything.
	RoleAdmin Role = "admin"
	// RoleRouter is a router's own identity: it may read slot ownership and group status
	// (how a router learns the slot map). Every other call a router forwards carries its
	// caller's token, so the node authorizes the caller, not the router.
	RoleRouter Role = "router"
	// accountPrefix starts an account role: "account:<id>".
	accountPrefix = "account:"
)

// AccountRole is the role of account id: "account:<id>".
func AccountRole(id int64) Role { return Role(accountPrefix + strconv.FormatInt(id, 10)) }

// ParseRole checks r is a known role; an account role needs an account ID > 0 in
// canonical decimal form.
func ParseRole(r string) (Role, error) {
	switch Role(r) {
	case RoleTradingSystem, RoleAdmin, RoleRouter:
		return Role(r), nil
	}
	if rest, ok := strings.CutPrefix(r, accountPrefix); ok {
		id, err := strconv.ParseInt(rest, 10, 64)
		if err == nil && id > 0 && strconv.FormatInt(id, 10) == rest {
			return Role(r), nil
		}
	}
	return "", fmt.Errorf("%w: %q (want trading-system, admin, router or account:<id>)", ErrUnknownRole, clip(r))
}

// Account is the account ID of an account role, 0 for other roles.
func (r Role) Account() int64 {
	rest, ok := strings.CutPrefix(string(r), accountPrefix)
	if !ok {
		return 0
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// Kind is the role without its account ID: "trading-system", "admin", "router" or
// "account". Rate limits are configured per kind.
func (r Role) Kind() string {
	if strings.HasPrefix(string(r), accountPrefix) {
		return "account"
	}
	return string(r)
}
