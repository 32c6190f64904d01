// SPDX-License-Identifier: MIT
/*
 * pokecap: runs as the only user program inside the QEMU guest (started by
 * /init from the initramfs). It loads the capture programs, performs the
 * prog-array steps, reads every live JIT image back through
 * BPF_OBJ_GET_INFO_BY_FD after every step, and prints a line-oriented
 * transcript (format "pokecap-transcript/1", see docs/capture.md).
 *
 * Never run this on a host: it loads BPF programs into the running kernel.
 * It refuses to start unless it is PID 1's child in an initramfs that has
 * the marker file /pokecap-guest.
 *
 * Usage: pokecap [--out FILE] PROGDIR
 *   PROGDIR holds targets.bpf.o and the caller objects (*.bpf.o). Objects
 *   whose name contains "prepop" are loaded late, after jmp_table[0] and
 *   jmp_table[1] have been populated; all others right after the targets.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define MAX_PROGS 64
#define NSLOTS 4

static FILE *out;

/* ---- transcript output ------------------------------------------------ */

/* One record per line: "POKECAP <kind> k=v k=v ... crc=XXXXXXXX". The crc is
 * CRC-32 (IEEE) of everything before " crc=", so the host can reject a line
 * that the serial link garbled. */
static char line[1 << 20];
static size_t line_len;

static uint32_t crc32_ieee(const char *s, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= (unsigned char)s[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

static void rec_begin(const char *kind)
{
	line_len = (size_t)snprintf(line, sizeof(line), "POKECAP %s", kind);
}

static void rec_raw(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line + line_len, sizeof(line) - line_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		line_len += (size_t)n;
	if (line_len >= sizeof(line))
		line_len = sizeof(line) - 1;
}

/* key=value with the value percent-encoded (space, '%', non-printables). */
static void rec_str(const char *key, const char *val)
{
	rec_raw(" %s=", key);
	for (const unsigned char *p = (const unsigned char *)val; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f || *p == '%')
			rec_raw("%%%02X", *p);
		else
			rec_raw("%c", *p);
	}
}

static void rec_hex(const char *key, const void *buf, size_t n)
{
	const unsigned char *b = buf;
	rec_raw(" %s=", key);
	if (n == 0)
		rec_raw("-");
	for (size_t i = 0; i < n; i++)
		rec_raw("%02x", b[i]);
}

static void rec_end(void)
{
	uint32_t c = crc32_ieee(line, line_len);
	fprintf(out, "%s crc=%08x\n", line, c);
	fflush(out);
}

static void error_rec(const char *what, int err)
{
	rec_begin("error");
	rec_str("what", what);
	rec_raw(" errno=%d", err);
	rec_str("strerror", strerror(err < 0 ? -err : err));
	rec_end();
}

/* ---- small helpers ------------------------------------------------------ */

static int read_file(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	ssize_t r = read(fd, buf, n - 1);
	int e = errno;
	close(fd);
	if (r < 0)
		return -e;
	buf[r] = 0;
	while (r > 0 && (buf[r - 1] == '\n' || buf[r - 1] == ' '))
		buf[--r] = 0;
	return 0;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	ssize_t r = write(fd, val, strlen(val));
	int e = errno;
	close(fd);
	return r < 0 ? -e : 0;
}

static void meta_file(const char *key, const char *path)
{
	char buf[8192];
	int err = read_file(path, buf, sizeof(buf));
	rec_begin("meta");
	rec_str("key", key);
	if (err)
		rec_str("error", strerror(-err));
	else
		rec_str("value", buf);
	rec_end();
}

static void meta_value(const char *key, const char *val)
{
	rec_begin("meta");
	rec_str("key", key);
	rec_str("value", val);
	rec_end();
}

static void cpuinfo_meta(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char buf[16384];
	int seen_vendor = 0, seen_model = 0, seen_flags = 0, seen_bugs = 0, seen_family = 0;
	if (!f) {
		error_rec("open /proc/cpuinfo", errno);
		return;
	}
	while (fgets(buf, sizeof(buf), f)) {
		char *colon = strchr(buf, ':');
		if (!colon)
			continue;
		char *v = colon + 1;
		while (*v == ' ')
			v++;
		v[strcspn(v, "\n")] = 0;
		if (!seen_vendor && !strncmp(buf, "vendor_id", 9)) {
			meta_value("cpu.vendor", v);
			seen_vendor = 1;
		} else if (!seen_family && !strncmp(buf, "cpu family", 10)) {
			/* the kernel picks e.g. srso_alias_return_thunk by family (0x19) */
			meta_value("cpu.family", v);
			seen_family = 1;
		} else if (!seen_model && !strncmp(buf, "model name", 10)) {
			meta_value("cpu.model", v);
			seen_model = 1;
		} else if (!seen_flags && !strncmp(buf, "flags", 5)) {
			meta_value("cpu.flags", v);
			seen_flags = 1;
		} else if (!seen_bugs && !strncmp(buf, "bugs", 4)) {
			meta_value("cpu.bugs", v);
			seen_bugs = 1;
		}
	}
	fclose(f);
}

static void vulnerabilities_meta(void)
{
	const char *dir = "/sys/devices/system/cpu/vulnerabilities";
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512], key[300];
	if (!d) {
		error_rec("opendir vulnerabilities", errno);
		return;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		snprintf(key, sizeof(key), "vuln.%s", e->d_name);
		meta_file(key, path);
	}
	closedir(d);
}

static const char *sysctls[][2] = {
	{ "net.core.bpf_jit_enable", "1" },
	{ "net.core.bpf_jit_harden", "0" },
	{ "net.core.bpf_jit_kallsyms", "1" },
	{ "net.core.bpf_jit_limit", NULL },
	{ "kernel.kptr_restrict", "0" },
	{ "kernel.unprivileged_bpf_disabled", NULL },
};

static void set_sysctls(void)
{
	char path[256], buf[256];
	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++) {
		snprintf(path, sizeof(path), "/proc/sys/%s", sysctls[i][0]);
		for (char *p = path + 10; *p; p++)
			if (*p == '.')
				*p = '/';
		if (sysctls[i][1]) {
			int err = write_file(path, sysctls[i][1]);
			if (err)
				error_rec(path, -err);
		}
		rec_begin("sysctl");
		rec_str("name", sysctls[i][0]);
		if (read_file(path, buf, sizeof(buf)) == 0)
			rec_str("value", buf);
		else
			rec_str("value", "?");
		rec_end();
	}
}

/* ---- programs ------------------------------------------------------------ */

struct prog {
	char name[64];
	char object[256];
	int fd;
	int is_target;
};

static struct prog progs[MAX_PROGS];
static int nprogs;
static int map_fd = -1;

static int prog_by_name(const char *name)
{
	for (int i = 0; i < nprogs; i++)
		if (!strcmp(progs[i].name, name))
			return i;
	return -1;
}

static int load_object(const char *dir, const char *file, int is_target, const char *step)
{
	char path[512];
	struct bpf_object *obj;
	struct bpf_program *p;
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		error_rec(path, errno);
		return -1;
	}
	struct bpf_map *m = bpf_object__find_map_by_name(obj, "jmp_table");
	if (!m) {
		rec_begin("error");
		rec_str("what", "no jmp_table map in object");
		rec_str("object", file);
		rec_end();
		bpf_object__close(obj);
		return -1;
	}
	if (map_fd >= 0) {
		err = bpf_map__reuse_fd(m, map_fd);
		if (err) {
			error_rec("bpf_map__reuse_fd", -err);
			bpf_object__close(obj);
			return -1;
		}
	}
	err = bpf_object__load(obj);
	if (err) {
		rec_begin("load");
		rec_str("step", step);
		rec_str("object", file);
		rec_raw(" err=%d", err);
		rec_end();
		bpf_object__close(obj);
		return -1;
	}
	if (map_fd < 0) {
		struct bpf_map_info mi;
		__u32 len = sizeof(mi);
		memset(&mi, 0, sizeof(mi));
		map_fd = dup(bpf_map__fd(m));
		bpf_obj_get_info_by_fd(map_fd, &mi, &len);
		rec_begin("map");
		rec_str("name", mi.name);
		rec_raw(" id=%u type=%u key_size=%u value_size=%u max_entries=%u", mi.id, mi.type,
			mi.key_size, mi.value_size, mi.max_entries);
		rec_end();
	}
	bpf_object__for_each_program(p, obj) {
		if (nprogs == MAX_PROGS)
			break;
		struct prog *pr = &progs[nprogs++];
		struct bpf_prog_info pi;
		__u32 len = sizeof(pi);
		snprintf(pr->name, sizeof(pr->name), "%s", bpf_program__name(p));
		snprintf(pr->object, sizeof(pr->object), "%s", file);
		pr->fd = dup(bpf_program__fd(p));
		pr->is_target = is_target;
		memset(&pi, 0, sizeof(pi));
		bpf_obj_get_info_by_fd(pr->fd, &pi, &len);
		rec_begin("load");
		rec_str("step", step);
		rec_str("object", file);
		rec_str("prog", pr->name);
		rec_raw(" id=%u err=0 role=%s", pi.id, is_target ? "target" : "caller");
		rec_end();
	}
	/* The programs and the map stay alive through the dup()ed fds. */
	bpf_object__close(obj);
	return 0;
}

/* Read one program's live state through BPF_OBJ_GET_INFO_BY_FD (twice:
 * lengths first, then the arrays) and print it as one "snap" record. */
static void snapshot(const char *step, struct prog *pr)
{
	struct bpf_prog_info pi;
	__u32 len = sizeof(pi);
	int err;

	memset(&pi, 0, sizeof(pi));
	err = bpf_obj_get_info_by_fd(pr->fd, &pi, &len);
	if (err) {
		error_rec("bpf_obj_get_info_by_fd (lengths)", -err);
		return;
	}
	__u32 jited_len = pi.jited_prog_len, xlated_len = pi.xlated_prog_len;
	__u32 nksyms = pi.nr_jited_ksyms, nflens = pi.nr_jited_func_lens;
	__u32 nli = pi.nr_line_info, li_rec = pi.line_info_rec_size;
	__u32 njli = pi.nr_jited_line_info, jli_rec = pi.jited_line_info_rec_size;
	__u32 nfi = pi.nr_func_info, fi_rec = pi.func_info_rec_size;

	unsigned char *jited = calloc(1, jited_len + 1);
	unsigned char *xlated = calloc(1, xlated_len + 1);
	__u64 *ksyms = calloc(nksyms + 1, sizeof(__u64));
	__u32 *flens = calloc(nflens + 1, sizeof(__u32));
	unsigned char *li = calloc(nli + 1, li_rec ? li_rec : sizeof(struct bpf_line_info));
	__u64 *jli = calloc(njli + 1, jli_rec ? jli_rec : sizeof(__u64));
	unsigned char *fi = calloc(nfi + 1, fi_rec ? fi_rec : sizeof(struct bpf_func_info));

	memset(&pi, 0, sizeof(pi));
	pi.jited_prog_len = jited_len;
	pi.jited_prog_insns = (__u64)(unsigned long)jited;
	pi.xlated_prog_len = xlated_len;
	pi.xlated_prog_insns = (__u64)(unsigned long)xlated;
	pi.nr_jited_ksyms = nksyms;
	pi.jited_ksyms = (__u64)(unsigned long)ksyms;
	pi.nr_jited_func_lens = nflens;
	pi.jited_func_lens = (__u64)(unsigned long)flens;
	pi.nr_line_info = nli;
	pi.line_info_rec_size = li_rec;
	pi.line_info = (__u64)(unsigned long)li;
	pi.nr_jited_line_info = njli;
	pi.jited_line_info_rec_size = jli_rec;
	pi.jited_line_info = (__u64)(unsigned long)jli;
	pi.nr_func_info = nfi;
	pi.func_info_rec_size = fi_rec;
	pi.func_info = (__u64)(unsigned long)fi;
	len = sizeof(pi);
	err = bpf_obj_get_info_by_fd(pr->fd, &pi, &len);
	if (err) {
		error_rec("bpf_obj_get_info_by_fd (arrays)", -err);
		goto out;
	}

	/* test_run: a zeroed 64-byte frame; skb->mark is 0, so an indirect
	 * call on skb->mark uses key 0. */
	unsigned char pkt[64];
	memset(pkt, 0, sizeof(pkt));
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .repeat = 1);
	int run_err = bpf_prog_test_run_opts(pr->fd, &topts);

	rec_begin("snap");
	rec_str("step", step);
	rec_str("prog", pr->name);
	rec_raw(" role=%s id=%u type=%u", pr->is_target ? "target" : "caller", pi.id, pi.type);
	rec_hex("tag", pi.tag, sizeof(pi.tag));
	rec_raw(" jited_len=%u xlated_len=%u", pi.jited_prog_len, pi.xlated_prog_len);
	rec_raw(" ksyms=");
	for (__u32 i = 0; i < nksyms; i++)
		rec_raw("%s0x%llx", i ? "," : "", (unsigned long long)ksyms[i]);
	if (!nksyms)
		rec_raw("-");
	rec_raw(" func_lens=");
	for (__u32 i = 0; i < nflens; i++)
		rec_raw("%s%u", i ? "," : "", flens[i]);
	if (!nflens)
		rec_raw("-");
	rec_raw(" line_insn_off=");
	for (__u32 i = 0; i < nli; i++) {
		struct bpf_line_info *l = (struct bpf_line_info *)(li + (size_t)i * li_rec);
		rec_raw("%s%u", i ? "," : "", l->insn_off);
	}
	if (!nli)
		rec_raw("-");
	rec_raw(" jited_line=");
	for (__u32 i = 0; i < njli; i++) {
		__u64 a = *(__u64 *)((unsigned char *)jli + (size_t)i * jli_rec);
		rec_raw("%s0x%llx", i ? "," : "", (unsigned long long)a);
	}
	if (!njli)
		rec_raw("-");
	rec_raw(" func_insn_off=");
	for (__u32 i = 0; i < nfi; i++) {
		struct bpf_func_info *f = (struct bpf_func_info *)(fi + (size_t)i * fi_rec);
		rec_raw("%s%u", i ? "," : "", f->insn_off);
	}
	if (!nfi)
		rec_raw("-");
	rec_raw(" run_err=%d run_retval=%u", run_err, run_err ? 0 : topts.retval);
	rec_hex("jited", jited, pi.jited_prog_len);
	rec_hex("xlated", xlated, pi.xlated_prog_len);
	rec_end();
out:
	free(jited);
	free(xlated);
	free(ksyms);
	free(flens);
	free(li);
	free(jli);
	free(fi);
}

static void map_state(const char *step)
{
	rec_begin("mapstate");
	rec_str("step", step);
	rec_raw(" slots=");
	for (__u32 k = 0; k < NSLOTS; k++) {
		__u32 id = 0;
		/* For a prog array, a lookup from user space returns the prog id. */
		int err = bpf_map_lookup_elem(map_fd, &k, &id);
		if (err)
			rec_raw("%s-", k ? "," : "");
		else
			rec_raw("%s%u", k ? "," : "", id);
	}
	rec_end();
}

static void op_record(const char *step, const char *op, int key, const char *target, int err)
{
	rec_begin("op");
	rec_str("step", step);
	rec_str("op", op);
	if (key >= 0)
		rec_raw(" key=%d", key);
	if (target)
		rec_str("prog", target);
	rec_raw(" err=%d", err);
	rec_end();
}

static int do_update(const char *step, int key, const char *target)
{
	int i = prog_by_name(target);
	if (i < 0) {
		op_record(step, "update", key, target, -ENOENT);
		return -1;
	}
	__u32 k = (__u32)key, v = (__u32)progs[i].fd;
	int err = bpf_map_update_elem(map_fd, &k, &v, BPF_ANY);
	op_record(step, "update", key, target, err);
	return err;
}

static int do_delete(const char *step, int key)
{
	__u32 k = (__u32)key;
	int err = bpf_map_delete_elem(map_fd, &k);
	op_record(step, "delete", key, NULL, err);
	return err;
}

static void snap_callers(const char *step)
{
	map_state(step);
	for (int i = 0; i < nprogs; i++)
		if (!progs[i].is_target)
			snapshot(step, &progs[i]);
}

static void emit_ksyms(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char buf[512];
	if (!f) {
		error_rec("open /proc/kallsyms", errno);
		return;
	}
	while (fgets(buf, sizeof(buf), f)) {
		char addr[64], type[8], name[400];
		if (sscanf(buf, "%63s %7s %399s", addr, type, name) != 3)
			continue;
		/*
		 * BPF images, the thunks a JIT image can jump to, and the per-cpu
		 * pcpu_hot (call-depth accounting under retbleed=stuff addresses
		 * its call_depth field %gs-relative) and __bpf_call_base.
		 */
		if (strncmp(name, "bpf_prog_", 9) && !strstr(name, "thunk") &&
		    !strstr(name, "untrain_ret") && !strstr(name, "return_skl") &&
		    strcmp(name, "pcpu_hot") && strcmp(name, "__x86_call_depth") &&
		    strcmp(name, "__bpf_call_base"))
			continue;
		rec_begin("ksym");
		rec_raw(" addr=0x%s type=%s", addr, type);
		rec_str("name", name);
		rec_end();
	}
	fclose(f);
}

/* The steps: a..h are the shared oracle's; then key 0 is populated again
 * and the late ("prepop") programs are loaded, so that the JIT-end fixup
 * installs their sites before they are published. Every loaded caller is
 * dumped after every step. */
enum step_op { OP_NONE, OP_UPDATE, OP_DELETE, OP_LOAD_LATE };
struct step {
	const char *name;
	enum step_op op;
	int key;
	const char *prog;
};
static const struct step steps[] = {
	{ "a_initial", OP_NONE, -1, NULL },
	{ "b_install_t1", OP_UPDATE, 0, "target1" },
	{ "c_replace_t2", OP_UPDATE, 0, "target2" },
	{ "d_delete", OP_DELETE, 0, NULL },
	{ "e_reinstall_t1", OP_UPDATE, 0, "target1" },
	{ "f_replace_t3", OP_UPDATE, 0, "target3" },
	{ "g_delete", OP_DELETE, 0, NULL },
	{ "h_install_key1_t2", OP_UPDATE, 1, "target2" },
	{ "i_install_t1", OP_UPDATE, 0, "target1" },
	{ "j_load_prepop", OP_LOAD_LATE, -1, NULL },
	{ "k_replace_t3", OP_UPDATE, 0, "target3" },
	{ "l_delete", OP_DELETE, 0, NULL },
	{ "m_delete_key1", OP_DELETE, 1, NULL },
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *outpath = NULL;
	char *early[MAX_PROGS], *late[MAX_PROGS];
	int nearly = 0, nlate = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--out") && i + 1 < argc)
			outpath = argv[++i];
		else
			dir = argv[i];
	}
	if (!dir) {
		fprintf(stderr, "usage: pokecap [--out FILE] PROGDIR\n");
		return 2;
	}
	if (access("/pokecap-guest", F_OK) != 0 || getppid() != 1) {
		fprintf(stderr, "pokecap: refusing to run outside the capture guest "
				"(no /pokecap-guest, or parent is not init)\n");
		return 2;
	}
	out = outpath ? fopen(outpath, "w") : stdout;
	if (!out) {
		perror(outpath);
		return 1;
	}
	libbpf_set_print(libbpf_print);
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);

	rec_begin("begin");
	rec_raw(" format=pokecap-transcript/1");
	rec_end();

	struct utsname u;
	uname(&u);
	meta_value("uname.release", u.release);
	meta_value("uname.version", u.version);
	meta_value("uname.machine", u.machine);
	meta_file("proc.version", "/proc/version");
	meta_file("proc.cmdline", "/proc/cmdline");
	meta_file("uptime.begin", "/proc/uptime");
	cpuinfo_meta();
	vulnerabilities_meta();
	set_sysctls();

	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d) {
		error_rec(dir, errno);
		return 1;
	}
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 7 || strcmp(e->d_name + n - 6, ".bpf.o") || !strcmp(e->d_name, "targets.bpf.o"))
			continue;
		if (strstr(e->d_name, "prepop")) {
			if (nlate < MAX_PROGS)
				late[nlate++] = strdup(e->d_name);
		} else if (nearly < MAX_PROGS) {
			early[nearly++] = strdup(e->d_name);
		}
	}
	closedir(d);
	qsort(early, (size_t)nearly, sizeof(char *), cmp_str);
	qsort(late, (size_t)nlate, sizeof(char *), cmp_str);

	/* Targets first: they create jmp_table. */
	if (load_object(dir, "targets.bpf.o", 1, "load") || map_fd < 0) {
		rec_begin("end");
		rec_raw(" status=failed");
		rec_end();
		return 1;
	}
	for (int i = 0; i < nprogs; i++)
		snapshot("load", &progs[i]);
	for (int i = 0; i < nearly; i++)
		load_object(dir, early[i], 0, "a_initial");

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const struct step *st = &steps[i];
		switch (st->op) {
		case OP_NONE:
			break;
		case OP_UPDATE:
			do_update(st->name, st->key, st->prog);
			break;
		case OP_DELETE:
			do_delete(st->name, st->key);
			break;
		case OP_LOAD_LATE:
			for (int j = 0; j < nlate; j++)
				load_object(dir, late[j], 0, st->name);
			op_record(st->name, "load", -1, NULL, 0);
			break;
		}
		snap_callers(st->name);
	}

	emit_ksyms();
	meta_file("uptime.end", "/proc/uptime");
	rec_begin("end");
	rec_raw(" status=ok");
	rec_end();
	if (out != stdout)
		fclose(out);
	return 0;
}
