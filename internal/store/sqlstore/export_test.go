package sqlstore

// LimitConns caps the connections of a PostgreSQL store's pool, so that the
// many stores of the parallel conformance suite stay under the server's
// max_connections whatever the machine's core count.
func LimitConns(s *Store, n int) {
	if s.dialect == DialectPostgres {
		s.write.SetMaxOpenConns(n)
		s.write.SetMaxIdleConns(n)
	}
}

// Pragma returns a SQLite pragma's value as seen by the writer and by a
// reader connection.
func Pragma(s *Store, name string) (writer, reader string, err error) {
	q := "PRAGMA " + name
	if err = s.write.QueryRow(q).Scan(&writer); err != nil {
		return "", "", err
	}
	err = s.read.QueryRow(q).Scan(&reader)
	return writer, reader, err
}
