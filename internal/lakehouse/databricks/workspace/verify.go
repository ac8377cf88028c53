package workspace

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/databricks/databricks-sdk-go/service/catalog"
	"github.com/databricks/databricks-sdk-go/service/iam"

	"github.com/lakeport/lakeport/internal/errs"
)

// Check names, in the order Verify runs them.
const (
	CheckLogin     = "login"
	CheckWarehouse = "warehouse"
	CheckCatalog   = "catalog"
)

// CheckStatus is a check's outcome.
type CheckStatus string

const (
	CheckOK      CheckStatus = "ok"
	CheckFailed  CheckStatus = "failed"
	CheckSkipped CheckStatus = "skipped" // an earlier check it depends on failed
)

// Check is one line of a VerifyReport.
type Check struct {
	Name   string
	Status CheckStatus
	// Detail says what was found ("signed in as ...") or what is missing
	// and how to fix it.
	Detail string
	// Err is the failure (classified: errs.Auth for a rejected credential
	// or a missing permission), nil unless Status is CheckFailed.
	Err error
}

// VerifyReport is the outcome of Verify: one entry per check.
type VerifyReport struct {
	Connection string
	Checks     []Check
}

// OK reports whether every check passed.
func (r *VerifyReport) OK() bool { return r.Failed() == nil }

// Failed returns the first failed check, nil when none failed.
func (r *VerifyReport) Failed() *Check {
	for i := range r.Checks {
		if r.Checks[i].Status == CheckFailed {
			return &r.Checks[i]
		}
	}
	return nil
}

// Check returns the check called name (nil if it did not run).
func (r *VerifyReport) Check(name string) *Check {
	for i := range r.Checks {
		if r.Checks[i].Name == name {
			return &r.Checks[i]
		}
	}
	return nil
}

// Err is nil when every check passed, else an error naming the first
// failed check, of that check's kind.
func (r *VerifyReport) Err() error {
	f := r.Failed()
	if f == nil {
		return nil
	}
	kind := errs.Classify(f.Err)
	if kind == errs.Unknown {
		kind = errs.Invalid
	}
	return &errs.Error{Kind: kind, Err: fmt.Errorf("databricks connection %q: %s check failed: %s", r.Connection, f.Name, f.Detail)}
}

// Privileges Lakeport's jobs use on the catalog (and, inherited, its schemas,
// tables and volumes); Verify reports which the principal lacks. Only
// USE_CATALOG is required for the catalog check to pass.
var catalogPrivileges = []catalog.Privilege{
	catalog.PrivilegeUseCatalog, catalog.PrivilegeUseSchema, catalog.PrivilegeSelect,
	catalog.PrivilegeCreateTable, catalog.PrivilegeModify, catalog.PrivilegeReadVolume, catalog.PrivilegeWriteVolume,
}

// Verify checks, in order, that the credentials log in (SCIM Me), that the
// principal can use the SQL warehouse (read without starting it), and that
// it has USE CATALOG on the configured catalog (or, without one, can list
// catalogs). Each check says precisely what failed; a check whose
// prerequisite failed is skipped. The error is for a canceled ctx only:
// failures are in the report (see VerifyReport.Err).
func (c *Client) Verify(ctx context.Context) (*VerifyReport, error) {
	r := &VerifyReport{Connection: c.cfg.Name}
	add := func(ch Check) { r.Checks = append(r.Checks, ch) }

	// login
	var me *iam.User
	err := c.call(ctx, "sign in", func(ctx context.Context) error {
		var err error
		me, err = c.me.Me(ctx, iam.MeRequest{})
		return err
	})
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	if err != nil {
		add(Check{Name: CheckLogin, Status: CheckFailed, Err: err, Detail: c.loginHint(err)})
		add(Check{Name: CheckWarehouse, Status: CheckSkipped, Detail: "not checked: login failed"})
		add(Check{Name: CheckCatalog, Status: CheckSkipped, Detail: "not checked: login failed"})
		return r, nil
	}
	add(Check{Name: CheckLogin, Status: CheckOK, Detail: fmt.Sprintf("signed in to %s as %s (%s)", c.sdk.Host, me.UserName, c.AuthType())})

	// warehouse
	w, err := c.WarehouseState(ctx)
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	switch {
	case err == nil:
		d := fmt.Sprintf("warehouse %q (%s) is %s", w.Name, c.warehouseID, w.State)
		if string(w.State) != StateRunning {
			d += fmt.Sprintf("; jobs start it and wait up to %s (warehouse_wait)", c.cfg.warehouseWait())
		}
		add(Check{Name: CheckWarehouse, Status: CheckOK, Detail: d})
	case isStatus(err, 404):
		add(Check{Name: CheckWarehouse, Status: CheckFailed, Err: err,
			Detail: fmt.Sprintf("warehouse %s not found: check http_path (%s) against the warehouse's Connection details", c.warehouseID, c.cfg.HTTPPath)})
	case errs.Classify(err) == errs.Auth:
		add(Check{Name: CheckWarehouse, Status: CheckFailed, Err: err,
			Detail: fmt.Sprintf("%s may not use warehouse %s: grant it CAN USE on the warehouse (%s)", me.UserName, c.warehouseID, rootMessage(err))})
	default:
		add(Check{Name: CheckWarehouse, Status: CheckFailed, Err: err, Detail: "could not read warehouse " + c.warehouseID + ": " + rootMessage(err)})
	}

	// catalog
	ch := c.checkCatalog(ctx, me)
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	add(ch)
	return r, nil
}

func (c *Client) loginHint(err error) string {
	msg := rootMessage(err)
	switch errs.Classify(err) {
	case errs.Auth:
		if c.cfg.ClientID != "" {
			return fmt.Sprintf("the workspace rejected service principal %s: check client_id and client_secret, and that the principal is added to the workspace (%s)", c.cfg.ClientID, msg)
		}
		return "the workspace rejected the token: it may be expired, revoked or for another workspace (" + msg + ")"
	case errs.Transient:
		return "the workspace did not answer: " + msg
	}
	return "could not sign in: " + msg
}

func (c *Client) checkCatalog(ctx context.Context, me *iam.User) Check {
	if c.cfg.Catalog == "" {
		names, err := c.Catalogs(ctx)
		if err != nil {
			return Check{Name: CheckCatalog, Status: CheckFailed, Err: err, Detail: "could not list catalogs: " + rootMessage(err)}
		}
		return Check{Name: CheckCatalog, Status: CheckOK,
			Detail: fmt.Sprintf("%d catalogs visible; no default catalog configured, so no grants checked", len(names))}
	}
	name := c.cfg.Catalog
	var ci *catalog.CatalogInfo
	err := c.call(ctx, "get catalog "+name, func(ctx context.Context) error {
		var err error
		ci, err = c.catalogs.Get(ctx, catalog.GetCatalogRequest{Name: name})
		return err
	})
	switch {
	case err == nil:
	case isStatus(err, 404):
		return Check{Name: CheckCatalog, Status: CheckFailed, Err: &errs.Error{Kind: errs.Auth, Err: err},
			Detail: fmt.Sprintf("catalog %s not found, or %s may not see it: check the name and grant USE CATALOG on it", name, me.UserName)}
	case errs.Classify(err) == errs.Auth:
		return Check{Name: CheckCatalog, Status: CheckFailed, Err: err,
			Detail: fmt.Sprintf("%s lacks USE CATALOG on %s: GRANT USE CATALOG ON CATALOG %s TO `%s` (%s)", me.UserName, name, name, me.UserName, rootMessage(err))}
	default:
		return Check{Name: CheckCatalog, Status: CheckFailed, Err: err, Detail: "could not read catalog " + name + ": " + rootMessage(err)}
	}
	principals := []string{me.UserName, "account users"}
	for _, g := range me.Groups {
		principals = append(principals, g.Display)
	}
	if ci.Owner != "" && slices.Contains(principals, ci.Owner) {
		return Check{Name: CheckCatalog, Status: CheckOK, Detail: fmt.Sprintf("%s owns catalog %s", ci.Owner, name)}
	}
	var eff *catalog.EffectivePermissionsList
	err = c.call(ctx, "read grants on catalog "+name, func(ctx context.Context) error {
		var err error
		eff, err = c.grants.GetEffective(ctx, catalog.GetEffectiveRequest{SecurableType: "catalog", FullName: name})
		return err
	})
	if err != nil {
		if errs.Classify(err) == errs.Auth {
			// Reading grants needs more than using the catalog; the
			// catalog was readable, which needs USE CATALOG.
			return Check{Name: CheckCatalog, Status: CheckOK,
				Detail: fmt.Sprintf("catalog %s is readable; its grants are not (%s)", name, rootMessage(err))}
		}
		return Check{Name: CheckCatalog, Status: CheckFailed, Err: err, Detail: "could not read grants on catalog " + name + ": " + rootMessage(err)}
	}
	held := map[catalog.Privilege]bool{}
	for _, a := range eff.PrivilegeAssignments {
		if !slices.Contains(principals, a.Principal) {
			continue
		}
		for _, p := range a.Privileges {
			held[p.Privilege] = true
		}
	}
	var have, missing []string
	for _, p := range catalogPrivileges {
		if held[p] || held[catalog.PrivilegeAllPrivileges] {
			have = append(have, privName(p))
		} else {
			missing = append(missing, privName(p))
		}
	}
	if !held[catalog.PrivilegeUseCatalog] && !held[catalog.PrivilegeAllPrivileges] {
		return Check{Name: CheckCatalog, Status: CheckFailed, Err: errs.Authf("no USE CATALOG on %s", name),
			Detail: fmt.Sprintf("%s lacks USE CATALOG on %s: GRANT USE CATALOG ON CATALOG %s TO `%s`", me.UserName, name, name, me.UserName)}
	}
	d := fmt.Sprintf("%s has %s on catalog %s", me.UserName, strings.Join(have, ", "), name)
	if len(missing) > 0 {
		d += "; lacks " + strings.Join(missing, ", ") + " (needed by some jobs, see docs/DATABRICKS.md; may be granted on schemas, tables or volumes instead)"
	}
	return Check{Name: CheckCatalog, Status: CheckOK, Detail: d}
}

// privName spells a privilege as GRANT does: USE_CATALOG -> USE CATALOG.
func privName(p catalog.Privilege) string { return strings.ReplaceAll(string(p), "_", " ") }
