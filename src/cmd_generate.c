#include <stdio.h>

#include "tlswall/cli.h"
#include "tlswall/diag.h"
#include "tlswall/emit_nft.h"
#include "tlswall/pipeline.h"

int generate_main(const struct cli *cli, int argc, char **argv)
{
	struct pipeline pl;
	int ret = EXIT_ERROR;

	if (cli_extra_args("generate", argc, argv, 1))
		return EXIT_ERROR;
	if (pipeline_build(&pl, cli->policy_path, TRUST_WARN)) {
		emit_nft_script(pl.table, stdout);
		ret = fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EXIT_ERROR;
		if (ret != EXIT_OK)
			fprintf(stderr, "tlswall generate: cannot write the script to standard output\n");
	}
	if (cli->verbosity >= 0 || ret != EXIT_OK)
		diag_print(pl.diags, stderr);
	pipeline_release(&pl);
	return ret;
}
