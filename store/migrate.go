package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
)

// migrationFiles are compiled in so that a binary always carries exactly the
// schema it was written against; there is no migrations directory to lose or
// to mismatch on a server.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads migrations/NNNN_name.sql from fsys and insists that the
// versions run 1, 2, 3… without a gap, because user_version records only the
// last one applied: a gap or a duplicate would be skipped or applied twice
// without anyone noticing.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	byVersion := map[int]migration{}
	for _, name := range names {
		base := path.Base(name)
		prefix, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", name)
		}
		if prev, dup := byVersion[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev.name, base, v)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		byVersion[v] = migration{version: v, name: base, sql: string(body)}
	}
	ms := make([]migration, 0, len(byVersion))
	for v := 1; v <= len(byVersion); v++ {
		m, ok := byVersion[v]
		if !ok {
			return nil, fmt.Errorf("migration version %d is missing", v)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// newerSchemaError spells out what to do; it unwraps to ErrNewerSchema so
// callers can branch on it.
type newerSchemaError struct{ have, known int }

func (e *newerSchemaError) Error() string {
	return fmt.Sprintf("schema version %d is newer than this vhold understands (%d); upgrade vhold", e.have, e.known)
}

func (e *newerSchemaError) Unwrap() error { return ErrNewerSchema }

// migrate applies every migration newer than the file's user_version in one
// IMMEDIATE transaction, together with the new user_version, so a crash
// half-way leaves the old schema intact and another process opening the file
// at the same moment waits for the lock and then finds nothing left to do.
func migrate(ctx context.Context, conn *sql.Conn, ms []migration, log logrus.FieldLogger) (err error) {
	latest := len(ms)
	have, err := userVersion(ctx, conn)
	if err != nil {
		return err
	}
	if have > latest {
		return &newerSchemaError{have: have, known: latest}
	}
	if have == latest {
		return nil
	}

	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() {
		if err != nil {
			_, rbErr := conn.ExecContext(context.Background(), "ROLLBACK")
			err = errors.Join(err, rbErr)
		}
	}()
	// Read again under the write lock: another process may have migrated
	// between the first read and the lock.
	if have, err = userVersion(ctx, conn); err != nil {
		return err
	}
	if have > latest {
		return &newerSchemaError{have: have, known: latest}
	}
	pending := ms[have:]
	for _, m := range pending {
		if _, err := conn.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", latest)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	for _, m := range pending {
		log.WithFields(logrus.Fields{"version": m.version, "migration": m.name}).Info("applied schema migration")
	}
	return nil
}

func userVersion(ctx context.Context, conn *sql.Conn) (int, error) {
	var v int
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}
