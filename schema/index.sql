-- SPDX-License-Identifier: BSD-2-Clause
-- The connection index of tlsrec journals (docs/index.md): what `tlsasm index` writes and what
-- `tlsasm conns`, `tlsasm procs` and filtered extraction read. Times are ns since the epoch (UTC),
-- addresses are text as inet_ntop writes them. The index is a cache of the journals: a version
-- this tlsasm does not write is not migrated, the index is built again.
PRAGMA user_version = 5;

-- One per recording (tlsrec run), by the recording id of its HEADER.
CREATE TABLE recordings (
	id INTEGER PRIMARY KEY,
	recording_id TEXT NOT NULL UNIQUE, -- 32 hex digits
	host TEXT,                         -- from the HEADER record
	kernel TEXT,
	machine TEXT,
	version TEXT,                      -- of tlsrec
	start_ns INTEGER
);

-- One per journal file ever indexed. identity names the content (the recording and sequence
-- number of its first chunk), so a file renamed is known again and a name reused by rotation
-- (-W) is a new journal; path is NULL once another journal took its name.
CREATE TABLE journals (
	id INTEGER PRIMARY KEY,
	identity TEXT NOT NULL UNIQUE,
	path TEXT,
	dev INTEGER,       -- stat(2) at the last run that read it
	ino INTEGER,
	size INTEGER,
	mtime_ns INTEGER,
	chunks INTEGER NOT NULL DEFAULT 0, -- chunks of it indexed so far
	indexed_ns INTEGER                 -- when it was last read (wall clock of the indexer)
);
CREATE INDEX journals_path ON journals(path);

-- One per chunk indexed: what was read. A chunk is known by (recording, seq) wherever it is, so
-- a copy of it in another file is not read again.
CREATE TABLE chunks (
	journal INTEGER NOT NULL REFERENCES journals(id),
	offset INTEGER NOT NULL,   -- of its header in the file
	recording INTEGER NOT NULL REFERENCES recordings(id),
	seq INTEGER NOT NULL,
	first_ns INTEGER NOT NULL, -- time range, from its header
	last_ns INTEGER NOT NULL,
	records INTEGER NOT NULL,  -- records in it, from its header
	packets INTEGER NOT NULL,  -- PACKET records read from it
	raw_len INTEGER NOT NULL,  -- bytes of records, decompressed
	frame_len INTEGER NOT NULL, -- bytes of its LZ4 frame in the file
	PRIMARY KEY (journal, offset)
) WITHOUT ROWID;
CREATE UNIQUE INDEX chunks_seq ON chunks(recording, seq);

-- One per process: (recording, pid, start_ns) names it, as pids are reused. start_ns is
-- CLOCK_BOOTTIME ns, 0 when only a SOCKET record named the pid.
CREATE TABLE processes (
	id INTEGER PRIMARY KEY,
	recording INTEGER NOT NULL REFERENCES recordings(id),
	pid INTEGER NOT NULL,
	start_ns INTEGER NOT NULL,
	ppid INTEGER,
	uid INTEGER,
	gid INTEGER,
	comm TEXT,
	exe TEXT,
	cmdline TEXT,        -- arguments separated by spaces
	first_ns INTEGER,    -- its first record
	exit_ns INTEGER,     -- its EXIT record, or NULL
	exit_code INTEGER,   -- the wait status the EXIT record gives
	UNIQUE (recording, pid, start_ns)
);

-- Every SOCKET record, as read: what attributes connections found in later chunks.
CREATE TABLE sockets (
	recording INTEGER NOT NULL REFERENCES recordings(id),
	ts_ns INTEGER NOT NULL,
	how INTEGER NOT NULL,   -- enum tr_socket_how: 1 create, 2 connect, 3 accept, 4 bind, 5 seed
	cookie INTEGER NOT NULL,
	netns INTEGER NOT NULL,
	cgroup INTEGER NOT NULL,
	pid INTEGER NOT NULL,
	tid INTEGER NOT NULL,
	uid INTEGER NOT NULL,
	gid INTEGER NOT NULL,
	comm TEXT NOT NULL,
	family INTEGER NOT NULL, -- AF_INET or AF_INET6
	protocol INTEGER NOT NULL,
	local_addr BLOB NOT NULL, -- 16 bytes, IPv4 in the first 4
	local_port INTEGER NOT NULL,
	remote_addr BLOB NOT NULL,
	remote_port INTEGER NOT NULL
);
CREATE INDEX sockets_recording ON sockets(recording);

-- One per TCP connection or UDP flow, per recording. orig is the end that opened it (the TCP
-- client; for UDP, the sender of the first datagram), resp the other. An end's process is NULL
-- when it is not local or not known.
CREATE TABLE connections (
	id INTEGER PRIMARY KEY,
	recording INTEGER NOT NULL REFERENCES recordings(id),
	protocol TEXT NOT NULL,     -- 'tcp' or 'udp'
	family INTEGER NOT NULL,    -- 4 or 6
	orig_addr TEXT NOT NULL,
	orig_port INTEGER NOT NULL,
	resp_addr TEXT NOT NULL,
	resp_port INTEGER NOT NULL,
	netns INTEGER NOT NULL,     -- inode of the namespace of its first packet's interface
	netns2 INTEGER NOT NULL,    -- another namespace it was seen in, or 0
	orig_process INTEGER REFERENCES processes(id),
	orig_tid INTEGER,
	resp_process INTEGER REFERENCES processes(id),
	resp_tid INTEGER,
	first_ns INTEGER NOT NULL,
	last_ns INTEGER NOT NULL,
	orig_packets INTEGER NOT NULL, -- sent by orig
	orig_bytes INTEGER NOT NULL,   -- frame bytes as on the wire
	resp_packets INTEGER NOT NULL,
	resp_bytes INTEGER NOT NULL,
	tls_version INTEGER,    -- 0x0303, 0x0304, ... from the ServerHello; NULL when not seen
	sni TEXT,
	alpn TEXT,
	client_random TEXT,     -- 64 hex digits, from the ClientHello
	has_secrets INTEGER NOT NULL DEFAULT 0, -- a row of secrets has its client random, or resumes
	conn_state TEXT NOT NULL, -- as Zeek's conn_state: S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH
	-- What a later run needs to go on with it:
	tls_state INTEGER NOT NULL, -- 0 unknown, 1 not TLS, 2 TLS, 3 ClientHello read
	orig_known INTEGER NOT NULL, -- orig is the client by a SYN or a hello, not by first packet
	orig_flags INTEGER NOT NULL, -- TCP flags seen (1 SYN, 2 SYN-ACK, 4 FIN, 8 RST, 16 seen leaving)
	resp_flags INTEGER NOT NULL,
	orig_cookie INTEGER NOT NULL,
	resp_cookie INTEGER NOT NULL,
	stream BLOB, -- where reading the start of its streams stopped (tlsconn_stream_save), or NULL
	resumes TEXT -- TLS 1.2: the client random of the handshake whose master secret this resumed
	             -- one reuses (the library logged none for it), or NULL
);
CREATE INDEX connections_time ON connections(first_ns);
CREATE INDEX connections_orig ON connections(orig_process);
CREATE INDEX connections_resp ON connections(resp_process);
CREATE INDEX connections_random ON connections(client_random);

-- Every SECRET and KEYLOG record that gives key log lines (one whose secrets are all zeros gives
-- none): whose handshake, not the secrets (tlsasm reads those from the journal). A KEYLOG record
-- has cipher 0.
CREATE TABLE secrets (
	recording INTEGER NOT NULL REFERENCES recordings(id),
	ts_ns INTEGER NOT NULL,
	pid INTEGER NOT NULL,
	tid INTEGER NOT NULL,
	client_random TEXT NOT NULL, -- 64 hex digits
	version INTEGER NOT NULL,    -- 0x0303, 0x0304
	cipher INTEGER NOT NULL,
	library TEXT,                -- path of the TLS library, when a LIBRARY record names it
	journal INTEGER NOT NULL REFERENCES journals(id), -- the chunk that holds the record:
	offset INTEGER NOT NULL                           -- what extraction reads for the DSBs
);
CREATE INDEX secrets_random ON secrets(client_random);

-- TLS 1.2 sessions (a server's ticket or session ID, as assemble/session.h names them) named by
-- handshakes whose master secret a SECRET record has: a resumed handshake takes the latest naming
-- before it, in this run or a later one.
CREATE TABLE sessions (
	id BLOB NOT NULL,
	first_ns INTEGER NOT NULL,   -- of the connection that named it
	recording INTEGER NOT NULL REFERENCES recordings(id), -- of that connection
	client_random TEXT NOT NULL, -- 64 hex digits, of a handshake with a SECRET record
	PRIMARY KEY (id, first_ns)
) WITHOUT ROWID;

-- Which chunks hold each connection's packets, and how many.
CREATE TABLE conn_chunks (
	conn INTEGER NOT NULL REFERENCES connections(id),
	journal INTEGER NOT NULL,
	offset INTEGER NOT NULL,
	packets INTEGER NOT NULL,
	PRIMARY KEY (conn, journal, offset)
) WITHOUT ROWID;
