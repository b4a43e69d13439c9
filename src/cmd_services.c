#include <stdbool.h>
#include <stdio.h>

#include "tlswall/catalog.h"
#include "tlswall/cli.h"
#include "tlswall/util.h"

int services_main(const struct cli *cli, int argc, char **argv)
{
	bool unknown = false;

	/* names first, all of them: one run reports every misspelling */
	for (int i = 1; i < argc; i++) {
		const struct catalog_entry *best;

		if (catalog_find(argv[i]))
			continue;
		best = catalog_suggest(argv[i]);
		if (best)
			fprintf(stderr, "tlswall services: unknown service \"%s\"; did you mean \"%s\"?\n", argv[i],
				best->name);
		else
			fprintf(stderr, "tlswall services: unknown service \"%s\"\n", argv[i]);
		unknown = true;
	}
	if (unknown)
		return EXIT_ERROR;
	printf("%-14s %-18s %-11s %-14s %s\n", "NAME", "PORTS", "TLS", "TWIN", "REFERENCE");
	for (size_t i = 0; i < (argc > 1 ? (size_t)argc - 1 : catalog_size()); i++) {
		const struct catalog_entry *c = argc > 1 ? catalog_find(argv[i + 1]) : catalog_at(i);
		struct sbuf ports = { 0 };

		for (size_t j = 0; j < c->nports; j++) {
			char one[32];

			port_range_format(&c->ports[j], one, sizeof(one));
			sbuf_addf(&ports, "%s%s", j ? "," : "", one);
		}
		printf("%-14s %-18s %-11s %-14s %s\n", c->name, ports.buf, tls_kind_name(c->kind), c->twin ? c->twin : "-",
		       c->reference);
		if (cli->verbosity > 0 && (c->upgrade || c->note))
			printf("%14s %s%s%s\n", "", c->upgrade ? c->upgrade : "", c->upgrade && c->note ? "; " : "",
			       c->note ? c->note : "");
		sbuf_release(&ports);
	}
	return EXIT_OK;
}
