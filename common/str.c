/* str.c: small string helpers shared by the modules. */
#include <stddef.h>
#include <string.h>

#include "str.h"

int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}
