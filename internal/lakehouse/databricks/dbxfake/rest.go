package dbxfake

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Table is a Unity Catalog table.
type Table struct {
	Catalog, Schema, Name string
	Type                  string // MANAGED, EXTERNAL, VIEW
	Format                string // DELTA, ...
	Columns               []Column
	Properties            map[string]string
	Comment               string
	StorageLocation       string
}

// FullName is catalog.schema.name.
func (t Table) FullName() string { return t.Catalog + "." + t.Schema + "." + t.Name }

// Column is a table column as Unity Catalog describes it.
type Column struct {
	Name     string
	TypeText string // e.g. "bigint", "decimal(10,2)", "array<string>"
	TypeName string // e.g. "LONG", "DECIMAL", "ARRAY"
	Nullable bool
	Position int
	Comment  string
}

type catalog struct {
	name    string
	created time.Time
	schemas map[string]*schema
}

type schema struct {
	name    string
	created time.Time
	tables  map[string]*Table
}

type fileEntry struct {
	data     []byte
	modified time.Time
}

// AddCatalog adds a catalog (no-op if it exists).
func (s *Server) AddCatalog(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addCatalogLocked(name)
}

func (s *Server) addCatalogLocked(name string) *catalog {
	c := s.catalogs[name]
	if c == nil {
		c = &catalog{name: name, created: time.Now(), schemas: map[string]*schema{}}
		s.catalogs[name] = c
	}
	return c
}

// AddSchema adds a schema (and its catalog if missing).
func (s *Server) AddSchema(catalogName, schemaName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addSchemaLocked(catalogName, schemaName)
}

func (s *Server) addSchemaLocked(catalogName, schemaName string) *schema {
	c := s.addCatalogLocked(catalogName)
	sc := c.schemas[schemaName]
	if sc == nil {
		sc = &schema{name: schemaName, created: time.Now(), tables: map[string]*Table{}}
		c.schemas[schemaName] = sc
	}
	return sc
}

// AddTable adds or replaces a table (and its catalog and schema if missing).
// Empty Type means MANAGED, empty Format DELTA (none for a VIEW); columns
// without a Position are numbered in order.
func (s *Server) AddTable(t Table) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.Type == "" {
		t.Type = "MANAGED"
	}
	if t.Format == "" && t.Type != "VIEW" {
		t.Format = "DELTA"
	}
	cols := append([]Column(nil), t.Columns...)
	for i := range cols {
		if cols[i].Position == 0 && i > 0 {
			cols[i].Position = i
		}
	}
	t.Columns = cols
	props := map[string]string{}
	for k, v := range t.Properties {
		props[k] = v
	}
	t.Properties = props
	s.addSchemaLocked(t.Catalog, t.Schema).tables[t.Name] = &t
}

// Grant gives every principal the privileges on catalog (USE_CATALOG,
// USE_SCHEMA, SELECT, MODIFY, READ_VOLUME, WRITE_VOLUME, ...), as the
// catalog's grants and effective permissions report them.
func (s *Server) Grant(catalogName string, privileges ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grants[catalogName] = append(s.grants[catalogName], privileges...)
}

// PutFile stores a file as if uploaded.
func (s *Server) PutFile(p string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putFileLocked(p, data)
}

func (s *Server) putFileLocked(p string, data []byte) {
	s.files[p] = &fileEntry{data: append([]byte(nil), data...), modified: time.Now()}
	s.mkdirAllLocked(path.Dir(p))
}

func (s *Server) mkdirAllLocked(d string) {
	for d != "/" && d != "." && d != "" {
		s.dirs[d] = true
		d = path.Dir(d)
	}
}

// File returns a copy of the file at path (as uploaded through the Files API).
func (s *Server) File(p string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[p]
	if f == nil {
		return nil, false
	}
	return append([]byte(nil), f.data...), true
}

// Files returns the paths of all files, sorted.
func (s *Server) Files() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.files)
}

// ---- OAuth ----

func (s *Server) wellKnownConfig(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{
		"oidc_endpoint": s.URL() + "/oidc",
		"workspace_id":  WorkspaceID,
		"host_type":     "WORKSPACE_HOST",
	})
}

func (s *Server) oidcMetadata(w http.ResponseWriter, r *http.Request) {
	base := s.URL() + "/oidc"
	writeJSON(w, map[string]any{
		"issuer":                                base,
		"authorization_endpoint":                base + "/v1/authorize",
		"token_endpoint":                        base + "/v1/token",
		"jwks_uri":                              base + "/jwks.json",
		"grant_types_supported":                 []string{"client_credentials", "authorization_code", "refresh_token"},
		"response_types_supported":              []string{"code"},
		"scopes_supported":                      []string{"all-apis", "sql", "offline_access"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":` + strconv.Quote(code) + `,"error_description":` + strconv.Quote(desc) + `}`))
}

func (s *Server) oidcToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "POST required")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials, got "+strconv.Quote(gt))
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		// RFC 6749 2.3.1: form-urlencoded inside Basic.
		if v, err := url.QueryUnescape(id); err == nil {
			id = v
		}
		if v, err := url.QueryUnescape(secret); err == nil {
			secret = v
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	scope := r.PostForm.Get("scope")
	if scope == "" {
		scope = "all-apis"
	}
	s.mu.Lock()
	want, known := s.sps[id]
	if !known || want != secret || id == "" {
		s.mu.Unlock()
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
		return
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	tok := "dbxfake-oauth-" + hex.EncodeToString(b[:])
	life := s.tokenLifetime
	s.tokens[tok] = &tokenInfo{principal: id, sp: true, expires: time.Now().Add(life)}
	s.minted++
	s.mu.Unlock()
	secs := int64((life + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	writeJSON(w, map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   secs,
		"scope":        scope,
	})
}

// ---- REST routing ----

func (s *Server) serveREST(w http.ResponseWriter, r *http.Request, principal string) {
	p := r.URL.Path
	switch {
	case p == "/api/2.0/preview/scim/v2/Me":
		s.scimMe(w, r, principal)
	case p == "/api/2.0/sql/warehouses":
		s.listWarehouses(w, r, principal)
	case strings.HasPrefix(p, "/api/2.0/sql/warehouses/"):
		s.warehouse(w, r, strings.TrimPrefix(p, "/api/2.0/sql/warehouses/"))
	case strings.HasPrefix(p, "/api/2.0/permissions/warehouses/"):
		s.warehousePermissions(w, r, strings.TrimPrefix(p, "/api/2.0/permissions/warehouses/"), principal)
	case strings.HasPrefix(p, "/api/2.1/unity-catalog/"):
		s.unityCatalog(w, r, strings.TrimPrefix(p, "/api/2.1/unity-catalog/"), principal)
	case strings.HasPrefix(p, "/api/2.0/fs/files/"):
		s.filesAPI(w, r, strings.TrimPrefix(p, "/api/2.0/fs/files"))
	case strings.HasPrefix(p, "/api/2.0/fs/directories/"):
		s.dirsAPI(w, r, strings.TrimPrefix(p, "/api/2.0/fs/directories"))
	case strings.HasPrefix(p, "/api/2.0/connector-service/feature-flags/"):
		// The SQL driver's telemetry switch: off.
		writeJSON(w, map[string]any{"flags": []any{}, "ttl_seconds": 900})
	default:
		writeError(w, http.StatusNotFound, "ENDPOINT_NOT_FOUND", "No API found for '"+r.Method+" "+p+"'")
	}
}

func (s *Server) scimMe(w http.ResponseWriter, r *http.Request, principal string) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "BAD_REQUEST", "method not allowed")
		return
	}
	me := map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"id":          "7000000000000001",
		"userName":    principal,
		"displayName": principal,
		"active":      true,
	}
	if strings.Contains(principal, "@") {
		me["emails"] = []map[string]any{{"value": principal, "primary": true, "type": "work"}}
	} else {
		me["displayName"] = "service principal " + principal
	}
	writeJSON(w, me)
}

func (s *Server) warehouseJSONLocked() map[string]any {
	host, port := s.HostPort()
	wh := map[string]any{
		"id":                        WarehouseID,
		"name":                      "Fake Serverless Warehouse",
		"state":                     s.whState,
		"cluster_size":              "2X-Small",
		"auto_stop_mins":            10,
		"min_num_clusters":          1,
		"max_num_clusters":          1,
		"enable_serverless_compute": true,
		"enable_photon":             true,
		"warehouse_type":            "PRO",
		"creator_name":              DefaultUser,
		"odbc_params": map[string]any{
			"hostname": host,
			"path":     HTTPPath,
			"port":     port,
			"protocol": "http",
		},
		"jdbc_url": "jdbc:databricks://" + host + ":" + strconv.Itoa(port) + "/default;transportMode=http;httpPath=" + HTTPPath,
	}
	if s.whState == StateRunning {
		wh["num_clusters"] = 1
		wh["health"] = map[string]any{"status": "HEALTHY"}
	} else {
		wh["num_clusters"] = 0
	}
	return wh
}

func (s *Server) listWarehouses(w http.ResponseWriter, r *http.Request, principal string) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "BAD_REQUEST", "method not allowed")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []any
	if !s.denyWH {
		list = append(list, s.warehouseJSONLocked())
	}
	writeJSON(w, map[string]any{"warehouses": list})
}

func (s *Server) warehouse(w http.ResponseWriter, r *http.Request, rest string) {
	id, action, _ := strings.Cut(rest, "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	if id != WarehouseID {
		writeError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", "SQL warehouse "+id+" does not exist.")
		return
	}
	if s.denyWH {
		writeError(w, http.StatusForbidden, "PERMISSION_DENIED", "User does not have CAN_USE permission on SQL warehouse "+id+".")
		return
	}
	switch {
	case action == "" && r.Method == http.MethodGet:
		s.pollLocked()
		writeJSON(w, s.warehouseJSONLocked())
	case action == "start" && r.Method == http.MethodPost:
		s.startLocked()
		writeJSON(w, map[string]any{})
	case action == "stop" && r.Method == http.MethodPost:
		s.whState = StateStopped
		writeJSON(w, map[string]any{})
	default:
		writeError(w, http.StatusNotFound, "ENDPOINT_NOT_FOUND", "No API found for '"+r.Method+" "+r.URL.Path+"'")
	}
}

func (s *Server) warehousePermissions(w http.ResponseWriter, r *http.Request, id, principal string) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "BAD_REQUEST", "method not allowed")
		return
	}
	if id != WarehouseID {
		writeError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", "SQL warehouse "+id+" does not exist.")
		return
	}
	s.mu.Lock()
	deny := s.denyWH
	s.mu.Unlock()
	acl := []map[string]any{{
		"group_name":      "admins",
		"all_permissions": []map[string]any{{"permission_level": "CAN_MANAGE", "inherited": false}},
	}}
	if !deny {
		e := map[string]any{
			"all_permissions": []map[string]any{{"permission_level": "CAN_USE", "inherited": false}},
		}
		if strings.Contains(principal, "@") {
			e["user_name"] = principal
		} else {
			e["service_principal_name"] = principal
		}
		e["display_name"] = principal
		acl = append(acl, e)
	}
	writeJSON(w, map[string]any{
		"object_id":           "/sql/warehouses/" + id,
		"object_type":         "warehouses",
		"access_control_list": acl,
	})
}

// ---- Unity Catalog ----

func (s *Server) unityCatalog(w http.ResponseWriter, r *http.Request, rest string, principal string) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusNotImplemented, "NOT_IMPLEMENTED", "the fake only serves GET on Unity Catalog")
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case rest == "catalogs":
		var out []any
		for _, n := range sortedKeys(s.catalogs) {
			out = append(out, s.catalogJSON(s.catalogs[n]))
		}
		writeJSON(w, map[string]any{"catalogs": out})
	case strings.HasPrefix(rest, "catalogs/"):
		c := s.catalogs[strings.TrimPrefix(rest, "catalogs/")]
		if c == nil {
			writeError(w, http.StatusNotFound, "CATALOG_DOES_NOT_EXIST", "Catalog '"+strings.TrimPrefix(rest, "catalogs/")+"' does not exist.")
			return
		}
		writeJSON(w, s.catalogJSON(c))
	case rest == "schemas":
		cn := q.Get("catalog_name")
		if cn == "" {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Missing required field: catalog_name")
			return
		}
		c := s.catalogs[cn]
		if c == nil {
			writeError(w, http.StatusNotFound, "CATALOG_DOES_NOT_EXIST", "Catalog '"+cn+"' does not exist.")
			return
		}
		var out []any
		for _, n := range sortedKeys(c.schemas) {
			out = append(out, schemaJSON(c, c.schemas[n]))
		}
		writeJSON(w, map[string]any{"schemas": out})
	case strings.HasPrefix(rest, "schemas/"):
		full := strings.TrimPrefix(rest, "schemas/")
		cn, sn, _ := strings.Cut(full, ".")
		c := s.catalogs[cn]
		if c == nil || c.schemas[sn] == nil {
			writeError(w, http.StatusNotFound, "SCHEMA_DOES_NOT_EXIST", "Schema '"+full+"' does not exist.")
			return
		}
		writeJSON(w, schemaJSON(c, c.schemas[sn]))
	case rest == "tables":
		cn, sn := q.Get("catalog_name"), q.Get("schema_name")
		if cn == "" || sn == "" {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Missing required field: catalog_name and schema_name")
			return
		}
		c := s.catalogs[cn]
		if c == nil {
			writeError(w, http.StatusNotFound, "CATALOG_DOES_NOT_EXIST", "Catalog '"+cn+"' does not exist.")
			return
		}
		sc := c.schemas[sn]
		if sc == nil {
			writeError(w, http.StatusNotFound, "SCHEMA_DOES_NOT_EXIST", "Schema '"+cn+"."+sn+"' does not exist.")
			return
		}
		var out []any
		for _, n := range sortedKeys(sc.tables) {
			out = append(out, tableJSON(sc.tables[n]))
		}
		writeJSON(w, map[string]any{"tables": out})
	case strings.HasPrefix(rest, "tables/"):
		full := strings.TrimPrefix(rest, "tables/")
		exists := false
		if f, ok := strings.CutSuffix(full, "/exists"); ok {
			full, exists = f, true
		}
		t := s.tableLocked(full)
		if exists {
			writeJSON(w, map[string]any{"table_exists": t != nil})
			return
		}
		if t == nil {
			writeError(w, http.StatusNotFound, "TABLE_DOES_NOT_EXIST", "Table '"+full+"' does not exist.")
			return
		}
		writeJSON(w, tableJSON(t))
	case strings.HasPrefix(rest, "effective-permissions/"), strings.HasPrefix(rest, "permissions/"):
		effective := strings.HasPrefix(rest, "effective-permissions/")
		typ, full, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(rest, "effective-permissions/"), "permissions/"), "/")
		s.permissionsLocked(w, q, strings.ToLower(typ), full, principal, effective)
	default:
		writeError(w, http.StatusNotFound, "ENDPOINT_NOT_FOUND", "No API found for 'GET "+r.URL.Path+"'")
	}
}

func (s *Server) tableLocked(full string) *Table {
	parts := strings.SplitN(full, ".", 3)
	if len(parts) != 3 {
		return nil
	}
	c := s.catalogs[parts[0]]
	if c == nil || c.schemas[parts[1]] == nil {
		return nil
	}
	return c.schemas[parts[1]].tables[parts[2]]
}

func (s *Server) permissionsLocked(w http.ResponseWriter, q url.Values, typ, full, principal string, effective bool) {
	parts := strings.Split(full, ".")
	var ok bool
	switch typ {
	case "catalog":
		ok = len(parts) == 1 && s.catalogs[parts[0]] != nil
	case "schema":
		ok = len(parts) == 2 && s.catalogs[parts[0]] != nil && s.catalogs[parts[0]].schemas[parts[1]] != nil
	case "table":
		ok = len(parts) == 3 && s.tableLocked(full) != nil
	default:
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "unsupported securable type "+typ)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, strings.ToUpper(typ)+"_DOES_NOT_EXIST", strings.ToUpper(typ[:1])+typ[1:]+" '"+full+"' does not exist.")
		return
	}
	who := q.Get("principal")
	if who == "" {
		who = principal
	}
	privs := s.grants[parts[0]]
	if len(privs) == 0 || (!effective && typ != "catalog") {
		writeJSON(w, map[string]any{"privilege_assignments": []any{}})
		return
	}
	if !effective {
		writeJSON(w, map[string]any{"privilege_assignments": []any{
			map[string]any{"principal": who, "privileges": privs},
		}})
		return
	}
	var eps []any
	for _, p := range privs {
		ep := map[string]any{"privilege": p}
		if typ != "catalog" {
			ep["inherited_from_type"] = "CATALOG"
			ep["inherited_from_name"] = parts[0]
		}
		eps = append(eps, ep)
	}
	writeJSON(w, map[string]any{"privilege_assignments": []any{
		map[string]any{"principal": who, "privileges": eps},
	}})
}

func (s *Server) catalogJSON(c *catalog) map[string]any {
	return map[string]any{
		"name":           c.name,
		"full_name":      c.name,
		"catalog_type":   "MANAGED_CATALOG",
		"owner":          DefaultUser,
		"metastore_id":   "11111111-2222-3333-4444-555555555555",
		"securable_type": "CATALOG",
		"created_at":     c.created.UnixMilli(),
		"created_by":     DefaultUser,
		"isolation_mode": "OPEN",
	}
}

func schemaJSON(c *catalog, sc *schema) map[string]any {
	return map[string]any{
		"name":         sc.name,
		"catalog_name": c.name,
		"full_name":    c.name + "." + sc.name,
		"owner":        DefaultUser,
		"created_at":   sc.created.UnixMilli(),
		"created_by":   DefaultUser,
		"metastore_id": "11111111-2222-3333-4444-555555555555",
	}
}

func tableJSON(t *Table) map[string]any {
	var cols []any
	for _, c := range t.Columns {
		cols = append(cols, map[string]any{
			"name":      c.Name,
			"type_text": c.TypeText,
			"type_name": c.TypeName,
			"type_json": `{"name":` + strconv.Quote(c.Name) + `,"type":` + strconv.Quote(c.TypeText) + `,"nullable":` + strconv.FormatBool(c.Nullable) + `,"metadata":{}}`,
			"nullable":  c.Nullable,
			"position":  c.Position,
			"comment":   c.Comment,
		})
	}
	m := map[string]any{
		"name":         t.Name,
		"catalog_name": t.Catalog,
		"schema_name":  t.Schema,
		"full_name":    t.FullName(),
		"table_type":   t.Type,
		"columns":      cols,
		"properties":   t.Properties,
		"owner":        DefaultUser,
		"created_by":   DefaultUser,
		"metastore_id": "11111111-2222-3333-4444-555555555555",
		"table_id":     "00000000-0000-0000-0000-" + fmt12(t.FullName()),
	}
	if t.Format != "" {
		m["data_source_format"] = t.Format
	}
	if t.Comment != "" {
		m["comment"] = t.Comment
	}
	loc := t.StorageLocation
	if loc == "" && t.Type != "VIEW" {
		loc = "s3://fake-metastore/" + t.Catalog + "/" + t.Schema + "/" + t.Name
	}
	if loc != "" {
		m["storage_location"] = loc
	}
	if t.Type == "VIEW" {
		m["view_definition"] = "SELECT 1"
	}
	return m
}

func fmt12(s string) string {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	x := strconv.FormatUint(h&0xffffffffffff, 16)
	return strings.Repeat("0", 12-len(x)) + x
}

// ---- Files API ----

func (s *Server) filesAPI(w http.ResponseWriter, r *http.Request, p string) {
	p = path.Clean(p)
	switch r.Method {
	case http.MethodPut:
		body, _ := readBody(r)
		s.mu.Lock()
		_, exists := s.files[p]
		if exists && r.URL.Query().Get("overwrite") != "true" {
			s.mu.Unlock()
			writeError(w, http.StatusConflict, "ALREADY_EXISTS", "The file being created already exists.")
			return
		}
		if s.dirs[p] {
			s.mu.Unlock()
			writeError(w, http.StatusConflict, "ALREADY_EXISTS", "A directory exists at "+p+".")
			return
		}
		s.putFileLocked(p, body)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case http.MethodGet, http.MethodHead:
		s.mu.Lock()
		f := s.files[p]
		var data []byte
		var mod time.Time
		if f != nil {
			data, mod = f.data, f.modified
		}
		s.mu.Unlock()
		if f == nil {
			if r.Method == http.MethodHead {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			writeError(w, http.StatusNotFound, "NOT_FOUND", "The file "+p+" does not exist.")
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Header().Set("Last-Modified", mod.UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return
		}
		if faultFrom(r.Context()) == TruncateResult {
			_, _ = w.Write(data[:len(data)/2])
			cutConn(w)
			return
		}
		_, _ = w.Write(data)
	case http.MethodDelete:
		s.mu.Lock()
		_, ok := s.files[p]
		delete(s.files, p)
		s.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, "NOT_FOUND", "The file "+p+" does not exist.")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusMethodNotAllowed, "BAD_REQUEST", "method not allowed")
	}
}

func (s *Server) dirsAPI(w http.ResponseWriter, r *http.Request, p string) {
	p = path.Clean(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodPut:
		if _, ok := s.files[p]; ok {
			writeError(w, http.StatusConflict, "ALREADY_EXISTS", "A file exists at "+p+".")
			return
		}
		s.mkdirAllLocked(p)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodHead:
		if !s.dirs[p] {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		if !s.dirs[p] {
			writeError(w, http.StatusNotFound, "NOT_FOUND", "The directory "+p+" does not exist.")
			return
		}
		var entries []map[string]any
		for d := range s.dirs {
			if d != p && path.Dir(d) == p {
				entries = append(entries, map[string]any{"path": d + "/", "name": path.Base(d), "is_directory": true})
			}
		}
		for fp, f := range s.files {
			if path.Dir(fp) == p {
				entries = append(entries, map[string]any{
					"path": fp, "name": path.Base(fp), "is_directory": false,
					"file_size": len(f.data), "last_modified": f.modified.UnixMilli(),
				})
			}
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i]["path"].(string) < entries[j]["path"].(string) })
		writeJSON(w, map[string]any{"contents": entries})
	case http.MethodDelete:
		if !s.dirs[p] {
			writeError(w, http.StatusNotFound, "NOT_FOUND", "The directory "+p+" does not exist.")
			return
		}
		for d := range s.dirs {
			if d != p && path.Dir(d) == p {
				writeError(w, http.StatusConflict, "DIRECTORY_NOT_EMPTY", "The directory "+p+" is not empty.")
				return
			}
		}
		for fp := range s.files {
			if path.Dir(fp) == p {
				writeError(w, http.StatusConflict, "DIRECTORY_NOT_EMPTY", "The directory "+p+" is not empty.")
				return
			}
		}
		delete(s.dirs, p)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusMethodNotAllowed, "BAD_REQUEST", "method not allowed")
	}
}

func readBody(r *http.Request) ([]byte, error) { return io.ReadAll(r.Body) }
