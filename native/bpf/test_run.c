// SPDX-License-Identifier: Apache-2.0
/*
 * Runs every packet of a file through a pinned BPF program with BPF_PROG_TEST_RUN and prints, one line
 * per packet, the program's return value and the first 32 bytes it returned (netsieve_policy prepends
 * its `struct result` there). Packets file: for each packet a little-endian u32 length, then the bytes.
 *
 *   test_run /sys/fs/bpf/.../netsieve_policy packets.bin
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#define MAX_PACKET 2048
#define OUT_BYTES 32

static int run_one(int prog_fd, unsigned char *pkt, uint32_t len)
{
	unsigned char out[MAX_PACKET + 256];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);
	int err = bpf_prog_test_run_opts(prog_fd, &opts);

	if (err) {
		fprintf(stderr, "test_run: BPF_PROG_TEST_RUN failed: %s\n", strerror(errno));
		return -1;
	}
	printf("%u ", opts.retval);
	for (int i = 0; i < OUT_BYTES && i < (int)opts.data_size_out; i++)
		printf("%02x", out[i]);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char pkt[MAX_PACKET];
	uint32_t len;
	FILE *in;
	int prog_fd;

	if (argc != 3) {
		fprintf(stderr, "usage: test_run PINNED_PROG PACKETS_FILE\n");
		return 2;
	}
	prog_fd = bpf_obj_get(argv[1]);
	if (prog_fd < 0) {
		fprintf(stderr, "test_run: cannot open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	in = fopen(argv[2], "rb");
	if (!in) {
		fprintf(stderr, "test_run: cannot open %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	while (fread(&len, sizeof(len), 1, in) == 1) {
		if (len > MAX_PACKET || fread(pkt, 1, len, in) != len) {
			fprintf(stderr, "test_run: truncated or oversized packet in %s\n", argv[2]);
			return 1;
		}
		if (run_one(prog_fd, pkt, len) < 0)
			return 1;
	}
	fclose(in);
	return 0;
}
