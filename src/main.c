/* socks5d entry point (placeholder until the core lands). */
#include <stdio.h>

int main(void)
{
	fputs("socks5d: not built yet\n", stderr);
	return 1;
}
