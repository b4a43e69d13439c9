#include <stdio.h>

#include "tlswall/catalog.h"
#include "tlswall/cli.h"
#include "tlswall/util.h"

int services_main(const struct cli *cli, int argc, char **argv)
{
	if (cli_extra_args("services", argc, argv, 1))
		return EXIT_ERROR;
	printf("%-14s %-18s %-11s %-14s %s\n", "NAME", "PORTS", "TLS", "TWIN", "REFERENCE");
	for (size_t i = 0; i < catalog_size(); i++) {
		const struct catalog_entry *c = catalog_at(i);
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
