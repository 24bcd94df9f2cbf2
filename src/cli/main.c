#include <stdio.h>
int main(void) { puts("attnsweep"); return 0; }
