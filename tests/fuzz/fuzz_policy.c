/* libFuzzer target: the whole pipeline on policy text, from libconfig parsing to the nft script. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/compile.h"
#include "tlswall/config.h"
#include "tlswall/diag.h"
#include "tlswall/emit_nft.h"
#include "tlswall/policy.h"
#include "tlswall/ruleset.h"
#include "tlswall/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5 leaks a string token when a syntax error follows it (the two bytes `""` are enough): its bug, not
 * tlswall's. Nothing tlswall allocates is allocated from inside libconfig, so this hides no leak of ours. */
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

static char *emit(const struct rs_table *t, size_t *len)
{
	char *text = NULL;
	FILE *out = open_memstream(&text, len);

	if (!out)
		abort();
	emit_nft_script(t, out);
	fclose(out);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag_list *d;
	struct policy *p;
	char *text;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* An @include opens whatever regular file it names: a fuzzer's findings should not depend on this machine's
	 * files (tests/unit/test_policy_text.c covers includes). List files are not read at all (listfile_load_sets is left out): fuzz_listfile covers their
	 * parser, and sets with a file simply stay empty here. */
	if (strstr(text, "@include")) {
		free(text);
		return 0;
	}
	d = diag_list_alloc();
	p = config_load_string(text, "fuzz.conf", d);
	if (p) {
		validate_policy(p, d);
		if (diag_errors(d) == 0) {
			struct rs_table *t = compile_policy(p), *again = compile_policy(p);
			size_t la, lb;
			char *a = emit(t, &la), *b = emit(again, &lb);

			/* deterministic: the same policy gives the same bytes */
			if (la != lb || memcmp(a, b, la) != 0)
				abort();
			free(a);
			free(b);
			rs_table_free(t);
			rs_table_free(again);
		}
	}
	/* printing walks every diagnostic: formats, files and lines must all be sound */
	{
		FILE *null = fopen("/dev/null", "w");

		if (null) {
			diag_print(d, null);
			fclose(null);
		}
	}
	policy_free(p);
	diag_list_free(d);
	free(text);
	return 0;
}
