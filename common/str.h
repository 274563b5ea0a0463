/* str.h: small string helpers shared by the modules. */
#ifndef COMMON_STR_H
#define COMMON_STR_H

/* 1 when a and b are both NULL or both strings with the same bytes, else 0 (a settings value that may be unset). */
int	 str_eq(const char *a, const char *b);

#endif
