/* cred: the credential rules of the protocols. See cred.h. */
#include "cred.h"

#include <string.h>

static bool cred_printable(const char *s, size_t len)
{
	if (!s || len < 1 || len > CRED_FIELD_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E)
			return false;
	return true;
}

bool cred_valid_name(const char *name, size_t len)
{
	return cred_printable(name, len) && !memchr(name, ':', len);
}

bool cred_valid_pass(const char *pass, size_t len)
{
	return cred_printable(pass, len);
}
