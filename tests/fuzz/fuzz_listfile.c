/* libFuzzer target: address list files. A normalized list must be sorted, disjoint, not adjacent, and every
 * range it holds must print as text that parses back to the same range. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/addr.h"
#include "tlswall/diag.h"
#include "tlswall/listfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ip6_cmp(const struct ip6 *a, const struct ip6 *b)
{
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return 0;
}

/* a + 1 < b, where a < b is known */
static bool ip6_gap(const struct ip6 *a, const struct ip6 *b)
{
	struct ip6 next = { a->lo == UINT64_MAX ? a->hi + 1 : a->hi, a->lo + 1 };

	return ip6_cmp(&next, b) < 0;
}

static void check_roundtrip(const struct addr_entry *want)
{
	char buf[ADDR_TEXT_MAX];
	struct addr_entry got;
	const char *why;

	addr_entry_format(want, buf);
	if (strlen(buf) >= ADDR_TEXT_MAX || !addr_parse(buf, strlen(buf), &got, &why) || got.family != want->family ||
	    got.host_bits)
		abort();
	if (want->family == ADDR_V4 && (got.r4.first != want->r4.first || got.r4.last != want->r4.last))
		abort();
	if (want->family == ADDR_V6 &&
	    (ip6_cmp(&got.r6.first, &want->r6.first) || ip6_cmp(&got.r6.last, &want->r6.last)))
		abort();
}

static void check_list(const struct addr_list *l)
{
	for (size_t i = 0; i < l->n4; i++) {
		struct addr_entry e = { .family = ADDR_V4, .r4 = l->v4[i] };

		if (l->v4[i].first > l->v4[i].last)
			abort();
		/* sorted, disjoint and not adjacent: the previous range ends at least two addresses before */
		if (i > 0 && (l->v4[i - 1].last >= l->v4[i].first || l->v4[i - 1].last + 1 == l->v4[i].first))
			abort();
		check_roundtrip(&e);
	}
	for (size_t i = 0; i < l->n6; i++) {
		struct addr_entry e = { .family = ADDR_V6, .r6 = l->v6[i] };

		if (ip6_cmp(&l->v6[i].first, &l->v6[i].last) > 0)
			abort();
		if (i > 0 && (ip6_cmp(&l->v6[i - 1].last, &l->v6[i].first) >= 0 ||
			      !ip6_gap(&l->v6[i - 1].last, &l->v6[i].first)))
			abort();
		check_roundtrip(&e);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag_list *d = diag_list_alloc();
	struct addr_list l = { 0 };
	struct addr_list again = { 0 };
	bool ok = listfile_parse((const char *)data, size, "fuzz.txt", &l, d);

	check_list(&l);
	/* the result agrees with the diagnostics, which stay within the cap (plus the line that says so) */
	if (ok != (diag_errors(d) == 0) || diag_count(d) > LISTFILE_MAX_DIAGS + 1)
		abort();
	for (size_t i = 0; i < diag_count(d); i++) {
		const struct diag *x = diag_at(d, i);

		if (!x->file || strcmp(x->file, "fuzz.txt") != 0 || x->line == 0 || x->line > size + 1)
			abort();
	}
	/* normalizing twice changes nothing */
	addr_list_append(&again, &l);
	addr_list_normalize(&again);
	if (!addr_list_equal(&l, &again))
		abort();
	addr_list_release(&again);
	addr_list_release(&l);
	diag_list_free(d);
	return 0;
}
