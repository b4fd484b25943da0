// SPDX-License-Identifier: Apache-2.0
/*
 * netsieve's eBPF model as a real XDP program: the same lookups as src/match/ebpf.ts, over real BPF maps,
 * in the same order, so that BPF_PROG_TEST_RUN can check the simulator packet by packet
 * (test/kernel/bpf.test.ts). Layout constants mirror src/compile/ebpf/layout.ts; change both together.
 *
 *   ipcache   LPM_TRIE  {prefixlen, family, pad[3], addr[16]} -> {identity, endpoint, node}
 *   policy    HASH      {identity, ep << 6 | dir << 5 | plen, proto << 16 | dport (masked)} -> {entry, deny, plen}
 *   endpoints ARRAY     endpoint -> {flags, node, prefix-length masks [dir * 2 + any identity]}
 *   config    ARRAY     0 -> {allow_loopback, allow_node_traffic}
 *
 * The decision (for the opening packet of a connection; conntrack is the simulator's business):
 * ipcache lookups of source and destination; a pod to its own address passes (loopback); an address of
 * the endpoint's own node becomes the host identity (1); egress at the source endpoint, then ingress at
 * the destination, each following Cilium v1.17 __policy_can_access: L3 lookup, then L4-only lookup
 * (identity 0); deny wins, then the longer prefix, then the L3 entry. The LPM over {proto, dport} is
 * emulated on the HASH map by probing the endpoint's prefix lengths, longest first.
 *
 * Output: 32 bytes prepended to the packet (struct result), and XDP_PASS (allow) or XDP_DROP.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define DIR_INGRESS 0
#define DIR_EGRESS 1
#define EP_INGRESS_ISOLATED 1
#define EP_EGRESS_ISOLATED 2
#define IDENTITY_ANY 0
#define IDENTITY_HOST 1
#define PLEN_PROTO 8
#define PLEN_FULL 24
#define RESULT_MAGIC 0x6e736276 /* "nsbv" */

enum dir_state { NOT_A_POD = 0, NOT_ISOLATED = 1, ALLOWED = 2, DENIED = 3, LOOPBACK = 4, SKIPPED = 5 };

struct ipcache_key {
	__u32 prefixlen; /* 32 (family + pad) + address prefix length */
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

struct ipcache_value {
	__u32 identity;
	__s32 endpoint;
	__s32 node;
};

struct policy_key {
	__u32 identity;
	__u32 word1;
	__u32 word2;
};

struct policy_value {
	__s32 entry;
	__u8 deny;
	__u8 plen;
	__u16 pad;
};

struct endpoint_value {
	__u32 flags;
	__s32 node;
	__u32 mask[4];
};

struct config_value {
	__u32 allow_loopback;
	__u32 allow_node_traffic;
};

struct result {
	__u32 magic;
	__u32 verdict; /* 1 allow, 0 drop */
	__u32 src_identity;
	__u32 dst_identity;
	__s32 decided_by;
	__s32 egress_entry;
	__s32 ingress_entry;
	__u8 egress_state;
	__u8 ingress_state;
	__u8 node_traffic;
	__u8 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct ipcache_key);
	__type(value, struct ipcache_value);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct policy_key);
	__type(value, struct policy_value);
	__uint(max_entries, 262144);
	/* Entries are allocated as they are added: preallocating 256 Ki entries costs ~0.3 s per load. */
	__uint(map_flags, BPF_F_NO_PREALLOC);
} policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct endpoint_value);
	__uint(max_entries, 4096);
} endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct config_value);
	__uint(max_entries, 1);
} config SEC(".maps");

struct flow {
	__u8 family;
	__u8 proto;
	__u16 dport; /* host order; 0 for protocols without ports */
	__u8 src[16];
	__u8 dst[16];
};

static __always_inline __u32 key_word2(__u8 proto, __u16 dport, __u32 plen)
{
	if (plen == 0)
		return 0;
	if (plen <= PLEN_PROTO)
		return (__u32)proto << 16;
	return ((__u32)proto << 16) | (dport & ((0xffffu << (PLEN_FULL - plen)) & 0xffff));
}

/* The LPM over {proto, dport} on a HASH map: prefix lengths in `mask`, longest first; first hit wins. */
static __always_inline struct policy_value *probe_prefixes(__u32 identity, __u32 ep, __u32 dir,
							   __u8 proto, __u16 dport, __u32 mask)
{
	struct policy_key key = { .identity = identity };
	struct policy_value *v;
	int plen;

	for (plen = PLEN_FULL; plen >= 0; plen--) {
		if (!(mask & (1u << plen)))
			continue;
		key.word1 = (ep << 6) | (dir << 5) | (__u32)plen;
		key.word2 = key_word2(proto, dport, (__u32)plen);
		v = bpf_map_lookup_elem(&policy, &key);
		if (v)
			return v;
	}
	return NULL;
}

/* Cilium v1.17 __policy_can_access precedence: deny, then longer prefix, then the L3 (identity) entry. */
static __always_inline struct policy_value *lookup_policy(struct endpoint_value *epv, __u32 ep, __u32 dir,
							  __u32 remote, __u8 proto, __u16 dport)
{
	struct policy_value *l3, *l4;
	__u32 base = dir * 2;

	l3 = probe_prefixes(remote, ep, dir, proto, dport, epv->mask[base & 3]);
	if (l3 && l3->deny)
		return l3;
	l4 = probe_prefixes(IDENTITY_ANY, ep, dir, proto, dport, epv->mask[(base + 1) & 3]);
	if (l4 && (l4->deny || !l3 || l4->plen > l3->plen))
		return l4;
	return l3;
}

/* One direction at one endpoint: 1 allows, 0 drops; fills the entry and state. */
static __always_inline int decide_direction(__s32 ep, __u32 dir, __u32 remote, struct flow *f,
					    __s32 *entry, __u8 *state)
{
	struct endpoint_value *epv;
	struct policy_value *v;
	__u32 key;

	*entry = -1;
	if (ep < 0) {
		*state = NOT_A_POD;
		return 1;
	}
	key = (__u32)ep;
	epv = bpf_map_lookup_elem(&endpoints, &key);
	if (!epv)
		return 0;
	if (!(epv->flags & (dir == DIR_INGRESS ? EP_INGRESS_ISOLATED : EP_EGRESS_ISOLATED))) {
		*state = NOT_ISOLATED;
		return 1;
	}
	v = lookup_policy(epv, key, dir, remote, f->proto, f->dport);
	if (v)
		*entry = v->entry;
	*state = (v && !v->deny) ? ALLOWED : DENIED;
	return v && !v->deny;
}

static __always_inline struct ipcache_value *ipcache_lookup(__u8 family, const __u8 *addr)
{
	struct ipcache_key key = { .prefixlen = 32 + (family == 4 ? 32 : 128), .family = family };

	__builtin_memcpy(key.addr, addr, 16);
	return bpf_map_lookup_elem(&ipcache, &key);
}

static __always_inline int own_node(__s32 ep, __s32 node)
{
	struct endpoint_value *epv;
	__u32 key = (__u32)ep;

	if (ep < 0 || node < 0)
		return 0;
	epv = bpf_map_lookup_elem(&endpoints, &key);
	return epv && epv->node == node;
}

static __always_inline int same_address(const __u8 *a, const __u8 *b)
{
	int diff = 0;

#pragma unroll
	for (int i = 0; i < 16; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

static __always_inline int decide(struct flow *f, struct result *r)
{
	struct ipcache_value *s = ipcache_lookup(f->family, f->src);
	struct ipcache_value *d = ipcache_lookup(f->family, f->dst);
	__s32 src_ep = s ? s->endpoint : -1, dst_ep = d ? d->endpoint : -1;
	__u32 key = 0, eg_remote, in_remote;
	struct config_value *cfg = bpf_map_lookup_elem(&config, &key);

	if (!cfg)
		return 0;
	r->src_identity = s ? s->identity : 0;
	r->dst_identity = d ? d->identity : 0;
	r->decided_by = -1;
	r->egress_entry = -1;
	r->ingress_entry = -1;
	if (cfg->allow_loopback && src_ep >= 0 && same_address(f->src, f->dst)) {
		r->egress_state = LOOPBACK;
		r->ingress_state = LOOPBACK;
		return 1;
	}
	r->node_traffic = cfg->allow_node_traffic &&
		(own_node(dst_ep, s ? s->node : -1) || own_node(src_ep, d ? d->node : -1));
	eg_remote = r->node_traffic ? IDENTITY_HOST : r->dst_identity;
	in_remote = r->node_traffic ? IDENTITY_HOST : r->src_identity;
	if (!decide_direction(src_ep, DIR_EGRESS, eg_remote, f, &r->egress_entry, &r->egress_state)) {
		r->ingress_state = SKIPPED;
		return 0;
	}
	if (!decide_direction(dst_ep, DIR_INGRESS, in_remote, f, &r->ingress_entry, &r->ingress_state))
		return 0;
	r->decided_by = r->ingress_entry >= 0 ? r->ingress_entry : r->egress_entry;
	return 1;
}

/* Ethernet, then IPv4 (options skipped) or IPv6 (no extension headers), then the L4 destination port. */
static __always_inline int parse(void *data, void *end, struct flow *f)
{
	struct ethhdr *eth = data;
	__u8 *l4;

	if ((void *)(eth + 1) > end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return -1;
		f->family = 4;
		f->proto = ip->protocol;
		__builtin_memcpy(f->src, &ip->saddr, 4);
		__builtin_memcpy(f->dst, &ip->daddr, 4);
		l4 = (__u8 *)ip + ip->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return -1;
		f->family = 6;
		f->proto = ip6->nexthdr;
		__builtin_memcpy(f->src, &ip6->saddr, 16);
		__builtin_memcpy(f->dst, &ip6->daddr, 16);
		l4 = (__u8 *)(ip6 + 1);
	} else {
		return -1;
	}
	f->dport = 0;
	if (f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP || f->proto == IPPROTO_SCTP) {
		if ((void *)(l4 + 4) > end)
			return -1;
		f->dport = ((__u16)l4[2] << 8) | l4[3];
	}
	return 0;
}

SEC("xdp")
int netsieve_policy(struct xdp_md *ctx)
{
	struct flow f = {};
	struct result r = { .magic = RESULT_MAGIC };
	struct result *out;
	int allow;

	if (parse((void *)(long)ctx->data, (void *)(long)ctx->data_end, &f) < 0)
		return XDP_ABORTED;
	allow = decide(&f, &r);
	r.verdict = allow;
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct result)))
		return XDP_ABORTED;
	out = (void *)(long)ctx->data;
	if ((void *)(out + 1) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	*out = r;
	return allow ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
