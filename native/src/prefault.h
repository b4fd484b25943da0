/*
 * A helper thread that faults in, ahead of a one-thread replay, the pages it is about to write for the
 * first time: the tracker's per-entry arrays and slots, the entries' tallies, and the connection table's
 * columns. Every replay fills those tables from empty, and on the VMs this runs on the first write to a
 * fresh page is most of a replay's cost when the host has not backed that memory yet (the VM hands freed
 * memory back to it): perf put 29% of the samples of six 1M-packet replays (small tier, one thread) in
 * the kernel zeroing huge pages inside the replay loop, 87 ms a replay for its 53 MiB, where memory the
 * host had backed takes well under 0.1 ms a MiB (huge.h). The helper
 * takes that wait off the replay's thread onto an idle core, by MADV_POPULATE_WRITE (Linux 5.14; on an
 * older kernel the helper gives up at its first page).
 *
 * It only reads the replay's progress (entries the tracker ever took, connections opened), published once
 * per batch, and never writes a byte of the tables: it is a hint, and the replay's results are the same
 * with or without it. Only a replay that has a core to spare runs it (src/replay/fused.ts): with lanes
 * every core already runs one.
 */
#ifndef NETSIEVE_PREFAULT_H
#define NETSIEVE_PREFAULT_H
#include <stddef.h>
#include <stdint.h>
#include "replay.h"

struct ns_prefault;

/*
 * bindReplay's `prefault` bits (src/native/layout.ts PrefaultMode): ON runs the helper; SETTLE makes
 * stopping wait until the helper has covered what the final progress asks (for tests, so that what it
 * covered does not depend on how soon its thread ran).
 */
enum { PREFAULT_ON = 1, PREFAULT_SETTLE = 2 };

/* A helper for these tables (the tally: tally_bytes at `tally`), started (`mode`: PREFAULT_* bits, ON set);
   NULL when no thread could start. */
ns_prefault *prefault_start(const ns_conntrack *ct, const ns_conns *conns, const ns_tally *tally, size_t tally_bytes, int mode);
/* The replay's progress, from its own thread, after a batch: entries ever taken, connections opened. */
void prefault_progress(ns_prefault *p, uint32_t entries, uint32_t rows);
/* The helper stopped (within one page's fault, unless SETTLE) and freed: the bytes it covered (faulted in,
   or found present). NULL: 0. */
double prefault_stop(ns_prefault *p);

#endif
