/* libFuzzer target: SSH_CONNECTION values. Whatever the environment holds, the parse says found, none or malformed
 * (with a reason), and what it finds is a whole session: a family, two ports, an interface name that fits. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/ssh_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct ssh_session s;
	const char *why;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	switch (ssh_session_parse(text, &s, &why)) {
	case SSH_SESSION_NONE:
		if (*text || why)
			abort();
		break;
	case SSH_SESSION_FOUND:
		if ((s.family != 4 && s.family != 6) || !s.client_port || !s.server_port || why ||
		    memchr(s.iface, '\0', sizeof(s.iface)) == NULL)
			abort();
		break;
	case SSH_SESSION_MALFORMED:
		if (!why)
			abort();
		break;
	default:
		abort();
	}
	free(text);
	return 0;
}
