/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Journal records, shared by the BPF programs (which write PACKET records straight into the ring
 * buffer) and by user space (which writes the others and reads them all back).
 * docs/journal-format.md is the normative description; the asserts at the end keep this file equal
 * to it. Widest fields first, explicit padding, variable payload last.
 */
#ifndef TLSREC_EVENTS_H
#define TLSREC_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TR_FORMAT_MAJOR 1
#define TR_FORMAT_MINOR 6

enum tr_rec_type {
	TR_REC_HEADER = 1,
	TR_REC_CLOCK = 2,
	TR_REC_IFACE = 3,
	TR_REC_LOSS = 4,
	TR_REC_PACKET = 5,
	TR_REC_END = 6,
	TR_REC_LIBRARY = 7,
	TR_REC_SECRET = 8,
	TR_REC_SOCKET = 9,
	TR_REC_PROCESS = 10,
	TR_REC_IFGONE = 11, /* format 1.4 */
	TR_REC_KEYLOG = 12, /* format 1.6 */
};

struct tr_rec {
	__u16 type;
	__u16 flags;
	__u32 len;
	__u64 ts;
};

#define TR_HEADER_MAGIC "TLSREC\0\0"

enum tr_header_tag {
	TR_TAG_HOSTNAME = 1,
	TR_TAG_KERNEL = 2,
	TR_TAG_MACHINE = 3,
	TR_TAG_VERSION = 4,
	TR_TAG_ARG = 5,
	TR_TAG_FILTER = 6, /* the capture filter expression (format 1.3) */
	TR_TAG_NO_SECRETS = 7, /* TLS secrets could not be recorded: why (format 1.5) */
	TR_TAG_NO_OWNERS = 8,  /* SOCKET and PROCESS records could not be made: why (format 1.5) */
};

struct tr_header {
	struct tr_rec hdr;
	__u8 magic[8];
	__u16 major;
	__u16 minor;
	__u32 clock_id;
	__u8 recording_id[16];
	__u8 boot_id[16];
	__u64 start_ns;
	__u64 pair_boot_ns;
	__u64 pair_real_ns;
	__u32 snaplen;
	__u32 pad;
	/* tag/length/value strings up to hdr.len */
};

struct tr_clock {
	struct tr_rec hdr;
	__u64 real_ns;
	__u64 uncertainty_ns;
};

enum tr_iface_flags {
	TR_IFACE_UP = 1 << 0,
	TR_IFACE_LOOPBACK = 1 << 1,
	TR_IFACE_INGRESS = 1 << 2,
	TR_IFACE_EGRESS = 1 << 3,
};

#define TR_IFNAMSIZ 16

struct tr_iface {
	struct tr_rec hdr;
	__u64 netns_ino;
	__u32 ifindex;
	__u32 mtu;
	__u16 linktype;
	__u16 flags;
	__u8 hwaddr_len;
	__u8 pad[3];
	__u8 hwaddr[8];
	char name[TR_IFNAMSIZ];
};

/* A recorded interface that disappeared (deleted, or moved to another network namespace). */
struct tr_ifgone {
	struct tr_rec hdr; /* ts: when tlsrec learnt it */
	__u64 netns_ino;
	__u32 ifindex;
	__u32 pad;
	char name[TR_IFNAMSIZ];
};

enum tr_dir {
	TR_DIR_NONE = 0,
	TR_DIR_INGRESS = 1,
	TR_DIR_EGRESS = 2,
};

enum tr_loss_what {
	TR_LOSS_PACKETS = 1,
	TR_LOSS_SECRETS = 2,
	TR_LOSS_SOCKETS = 3, /* SOCKET and PROCESS records */
};

enum tr_loss_where {
	TR_LOSS_RINGBUF = 1, /* the ring buffer was full */
	TR_LOSS_COPY = 2,    /* the packet's bytes could not be read */
	TR_LOSS_OUTPUT = 3,  /* the journal's output did not take them (format 1.4) */
};

struct tr_loss {
	struct tr_rec hdr;
	__u64 count;
	__u64 since_ns;
	__u32 ifindex;
	__u16 what;
	__u8 dir;
	__u8 where;
};

enum tr_packet_flags {
	TR_PKT_GSO = 1 << 0,
	TR_PKT_VLAN = 1 << 1,
};

struct tr_packet {
	struct tr_rec hdr;
	__u64 sock_cookie;
	__u32 ifindex;
	__u32 orig_len;
	__u32 cap_len;
	__u16 protocol;
	__u16 vlan_tci;
	__u16 vlan_proto;
	__u8 dir;
	__u8 flags;
	__u32 pad;
	__u8 data[];
};

struct tr_end {
	struct tr_rec hdr;
	__u64 packets;
	__u64 lost;
};

/* A TLS library tlsrec hooks: what SECRET records point at with their lib field. */
enum tr_library_tag {
	TR_LIB_PATH = 1,    /* the file, as tlsrec opened it (through /proc/PID/root for containers) */
	TR_LIB_VERSION = 2, /* the library's own version string ("OpenSSL 3.0.22 1 Oct 2024") */
};

enum tr_library_kind {
	TR_LIB_OPENSSL = 1,
	TR_LIB_GO = 2, /* a Go program's crypto/tls (format 1.6): KEYLOG records; version "go1.N" */
	TR_LIB_GNUTLS = 3, /* GnuTLS: KEYLOG records; version "GnuTLS 3.7.9" */
};

struct tr_library {
	struct tr_rec hdr;
	__u64 dev; /* st_dev and st_ino of the file */
	__u64 ino;
	__u32 index; /* SECRET.lib */
	__u16 kind;  /* enum tr_library_kind */
	__u8 build_id_len;
	__u8 pad;
	__u8 build_id[20];
	__u32 pad2;
	/* tag/length/value strings up to hdr.len, as in HEADER */
};

#define TR_SECRET_LEN 48 /* bytes kept of each secret: enough for SHA-384 */

enum tr_secret_flags {
	TR_SEC_TLS12 = 1 << 0, /* master_key holds the TLS 1.2 master secret */
	TR_SEC_TLS13 = 1 << 1, /* the TLS 1.3 fields hold what the library keeps */
};

/*
 * The secrets of one TLS connection as the library holds them when a handshake (or a TLS 1.3
 * KeyUpdate) completes, copied raw: tlsasm derives the key log lines. Each secret field holds
 * TR_SECRET_LEN bytes, of which the cipher's hash length (32 or 48) count.
 */
struct tr_secret {
	struct tr_rec hdr;
	__u64 ssl; /* address of the SSL object in the process */
	__u32 pid;
	__u32 tid;
	__u32 lib;    /* index of the LIBRARY record */
	__u32 cipher; /* SSL_CIPHER id: 0x0300 << 16 | the IANA cipher suite number */
	__u16 version; /* 0x0303 TLS 1.2, 0x0304 TLS 1.3: as the cipher suite implies */
	__u16 flags;   /* enum tr_secret_flags */
	__u32 pad;
	__u8 client_random[32];
	__u8 master_key[TR_SECRET_LEN];             /* TLS 1.2 */
	__u8 handshake_secret[TR_SECRET_LEN];       /* TLS 1.3 from here on */
	__u8 master_secret[TR_SECRET_LEN];
	__u8 handshake_traffic_hash[TR_SECRET_LEN]; /* Hash(ClientHello..ServerHello) */
	__u8 server_finished_hash[TR_SECRET_LEN];   /* Hash(ClientHello..server Finished) */
	__u8 client_app_secret[TR_SECRET_LEN];      /* the current generation */
	__u8 server_app_secret[TR_SECRET_LEN];
	__u8 exporter_secret[TR_SECRET_LEN];
};

#define TR_KEYLOG_LABEL 32 /* the longest key log label is CLIENT_HANDSHAKE_TRAFFIC_SECRET (31) */

/*
 * One key log line as a library hands it over, already derived (Go's crypto/tls, at
 * writeKeyLog(label, clientRandom, secret)): "label client_random secret" in the NSS key log
 * format. Written whether or not the program logs keys itself.
 */
struct tr_keylog {
	struct tr_rec hdr;
	__u32 pid;
	__u32 tid;
	__u32 lib;        /* index of the LIBRARY record */
	__u8 label_len;   /* 1 to TR_KEYLOG_LABEL */
	__u8 secret_len;  /* 1 to TR_SECRET_LEN */
	__u16 pad;
	char label[TR_KEYLOG_LABEL]; /* not NUL-terminated when 32 long */
	__u8 client_random[32];
	__u8 secret[TR_SECRET_LEN];
};

/* How a SOCKET record came to be written. */
enum tr_socket_how {
	TR_SOCK_CREATE = 1,  /* socket() returned it: owner and cookie, no addresses yet */
	TR_SOCK_CONNECT = 2, /* a TCP connect() it made ended (established or failed): addresses */
	TR_SOCK_ACCEPT = 3,  /* accept() returned it: addresses, owner is the accepting thread */
	TR_SOCK_BIND = 4,    /* bind() gave it a local address (listeners, UDP servers) */
	TR_SOCK_SEED = 5,    /* it existed when tlsrec started (read from /proc) */
};

/*
 * Which process owns a socket, and the socket's addresses as far as they are known when the
 * record is written. A packet names its socket by sock_cookie; a socket without a cookie (a
 * seeded one, or an accepted one the kernel has not given a cookie yet) is found by its addresses
 * in its network namespace. The owner is the thread that created, connected, accepted or bound it.
 */
struct tr_socket {
	struct tr_rec hdr;
	__u64 cookie; /* the kernel's socket cookie (SO_COOKIE), 0 when not known */
	__u64 netns;  /* inode of its network namespace, 0 when not known */
	__u64 cgroup; /* cgroup v2 id of the owner */
	__u32 pid;    /* owner: thread group id, thread id, real user and group ids, comm */
	__u32 tid;
	__u32 uid;
	__u32 gid;
	char comm[16];
	__u8 local[16]; /* addresses, IPv4 in the first 4 bytes; all zero when not known */
	__u8 remote[16];
	__u16 local_port; /* host byte order; 0 when not known */
	__u16 remote_port;
	__u16 family; /* AF_INET or AF_INET6 */
	__u8 protocol; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 how;      /* enum tr_socket_how */
};

enum tr_process_how {
	TR_PROC_EXEC = 1, /* it called execve() */
	TR_PROC_SEEN = 2, /* first seen owning a socket or holding TLS secrets */
	TR_PROC_SEED = 3, /* it was running when tlsrec started */
	TR_PROC_EXIT = 4, /* it exited (fixed part only) */
};

enum tr_process_tag {
	TR_PROC_EXE = 1,     /* the executable's path (readlink of /proc/PID/exe) */
	TR_PROC_CMDLINE = 2, /* /proc/PID/cmdline as it is: arguments each ended by a NUL */
};

/*
 * A process as /proc showed it while it lived (or, for EXIT, as the kernel had it). pid and
 * start_ns together name one process: a pid can be reused, its start time cannot.
 */
struct tr_process {
	struct tr_rec hdr;
	__u64 start_ns; /* CLOCK_BOOTTIME ns when it started (from /proc: clock ticks, rounded) */
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u8 how; /* enum tr_process_how */
	__u8 pad[3];
	__s32 exit_code; /* EXIT: the wait status; 0 otherwise */
	char comm[16];
	/* tag/length/value strings up to hdr.len, as in HEADER */
};

/* Fields of tr_ssl_offsets that are offsets into the structure ssl_st points to at s3 (OpenSSL
 * 1.1.1 and 1.0.2 allocate their ssl3_state_st apart; OpenSSL 3 embeds it). */
enum tr_ssl_via {
	TR_VIA_S3_CLIENT_RANDOM = 1 << 0,
	TR_VIA_S3_CIPHER = 1 << 1,
};

/*
 * Where one OpenSSL build keeps what a SECRET record copies: offsets into its ssl_st, and into the
 * SSL_SESSION and SSL_CIPHER it points to. Found by calibration (recorder/calibrate.c), never from
 * a version table. The value of the "ssl_offsets" map, keyed by the uprobe's cookie.
 */
struct tr_ssl_offsets {
	__u32 lib; /* LIBRARY index for the SECRET records */
	__u32 via; /* enum tr_ssl_via */
	__u32 s3;  /* the pointer in ssl_st the fields in via are offsets from */
	__u32 client_random;
	__u32 session;    /* SSL_SESSION * in ssl_st */
	__u32 master_key; /* in SSL_SESSION */
	__u32 cipher;     /* const SSL_CIPHER * in ssl_st */
	__u32 cipher_id;  /* in SSL_CIPHER */
	__u32 handshake_secret;
	__u32 master_secret;
	__u32 handshake_traffic_hash;
	__u32 server_finished_hash;
	__u32 client_app_secret;
	__u32 server_app_secret;
	__u32 exporter_secret;
};

/* Largest snapshot length tlsrec accepts, as tcpdump's MAXIMUM_SNAPLEN. */
#define TR_MAX_SNAPLEN 262144

/* Key of the kernel's loss counters (maps "losses" in capture.bpf.c, secrets.bpf.c, sockets.bpf.c). */
struct tr_loss_key {
	__u32 ifindex;
	__u8 dir;
	__u8 where;
	__u16 what;
};

/*
 * Value of the "tlsrec_owner" map: which process attached a set of TC filters, so that a later
 * tlsrec can tell them from filters a killed one left behind.
 */
struct tr_owner {
	__u64 start_time; /* field 22 of /proc/PID/stat */
	__u64 pidns;      /* inode of the owner's pid namespace: pid means something only there */
	__u64 heartbeat;  /* CLOCK_BOOTTIME ns; the owner renews it every second */
	__u32 pid;
	__u32 pad;
};

#define TR_ASSERT_LAYOUT(type, field, off) \
	_Static_assert(__builtin_offsetof(type, field) == (off), #type "." #field " offset")

_Static_assert(sizeof(struct tr_rec) == 16, "tr_rec size");
TR_ASSERT_LAYOUT(struct tr_rec, len, 4);
TR_ASSERT_LAYOUT(struct tr_rec, ts, 8);
_Static_assert(sizeof(struct tr_header) == 96, "tr_header size");
TR_ASSERT_LAYOUT(struct tr_header, recording_id, 32);
TR_ASSERT_LAYOUT(struct tr_header, start_ns, 64);
TR_ASSERT_LAYOUT(struct tr_header, snaplen, 88);
_Static_assert(sizeof(struct tr_clock) == 32, "tr_clock size");
_Static_assert(sizeof(struct tr_iface) == 64, "tr_iface size");
TR_ASSERT_LAYOUT(struct tr_iface, linktype, 32);
TR_ASSERT_LAYOUT(struct tr_iface, hwaddr, 40);
TR_ASSERT_LAYOUT(struct tr_iface, name, 48);
_Static_assert(sizeof(struct tr_ifgone) == 48, "tr_ifgone size");
TR_ASSERT_LAYOUT(struct tr_ifgone, ifindex, 24);
TR_ASSERT_LAYOUT(struct tr_ifgone, name, 32);
_Static_assert(sizeof(struct tr_loss) == 40, "tr_loss size");
TR_ASSERT_LAYOUT(struct tr_loss, ifindex, 32);
TR_ASSERT_LAYOUT(struct tr_loss, where, 39);
_Static_assert(sizeof(struct tr_packet) == 48, "tr_packet size");
TR_ASSERT_LAYOUT(struct tr_packet, ifindex, 24);
TR_ASSERT_LAYOUT(struct tr_packet, protocol, 36);
TR_ASSERT_LAYOUT(struct tr_packet, dir, 42);
TR_ASSERT_LAYOUT(struct tr_packet, data, 48);
_Static_assert(sizeof(struct tr_end) == 32, "tr_end size");
_Static_assert(sizeof(struct tr_owner) == 32, "tr_owner size");
_Static_assert(sizeof(struct tr_library) == 64, "tr_library size");
TR_ASSERT_LAYOUT(struct tr_library, index, 32);
TR_ASSERT_LAYOUT(struct tr_library, build_id, 40);
_Static_assert(sizeof(struct tr_secret) == 464, "tr_secret size");
_Static_assert(sizeof(struct tr_keylog) == 144, "tr_keylog size");
TR_ASSERT_LAYOUT(struct tr_keylog, pid, 16);
TR_ASSERT_LAYOUT(struct tr_keylog, lib, 24);
TR_ASSERT_LAYOUT(struct tr_keylog, label_len, 28);
TR_ASSERT_LAYOUT(struct tr_keylog, label, 32);
TR_ASSERT_LAYOUT(struct tr_keylog, client_random, 64);
TR_ASSERT_LAYOUT(struct tr_keylog, secret, 96);
_Static_assert(sizeof(struct tr_socket) == 112, "tr_socket size");
TR_ASSERT_LAYOUT(struct tr_socket, pid, 40);
TR_ASSERT_LAYOUT(struct tr_socket, comm, 56);
TR_ASSERT_LAYOUT(struct tr_socket, local, 72);
TR_ASSERT_LAYOUT(struct tr_socket, local_port, 104);
TR_ASSERT_LAYOUT(struct tr_socket, how, 111);
_Static_assert(sizeof(struct tr_process) == 64, "tr_process size");
TR_ASSERT_LAYOUT(struct tr_process, pid, 24);
TR_ASSERT_LAYOUT(struct tr_process, how, 40);
TR_ASSERT_LAYOUT(struct tr_process, comm, 48);
_Static_assert(sizeof(struct tr_ssl_offsets) == 60, "tr_ssl_offsets size");
TR_ASSERT_LAYOUT(struct tr_secret, pid, 24);
TR_ASSERT_LAYOUT(struct tr_secret, cipher, 36);
TR_ASSERT_LAYOUT(struct tr_secret, version, 40);
TR_ASSERT_LAYOUT(struct tr_secret, client_random, 48);
TR_ASSERT_LAYOUT(struct tr_secret, master_key, 80);
TR_ASSERT_LAYOUT(struct tr_secret, handshake_secret, 128);
TR_ASSERT_LAYOUT(struct tr_secret, exporter_secret, 416);

#endif /* TLSREC_EVENTS_H */
