// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rmem-poke PID FILE: in the memory of the donor rmem-poold PID, change
 * one byte of every 4 KiB page that holds one of FILE's 4 KiB blocks,
 * behind every client's back, as a donor bug or a memory fault would.
 * The daemon runs on unchanged: the bytes are changed through
 * /proc/PID/mem. For tests/vm/check.sh, which wrote FILE to an rmem
 * device: every read of it afterwards must fail the client's end-to-end
 * check. Prints how many pages it changed (copies in the daemon's
 * buffers count too).
 */
#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE 4096

int main(int argc, char **argv)
{
	unsigned long long lo, hi, a, changed = 0;
	char path[64], line[512], perm[8];
	unsigned char page[PAGE], *want = NULL;
	size_t nwant = 0, i;
	FILE *maps, *f;
	int mem;

	if (argc != 3)
		errx(2, "usage: rmem-poke PID FILE");
	f = fopen(argv[2], "r");
	if (!f)
		err(1, "%s", argv[2]);
	while (fread(page, 1, PAGE, f) == PAGE) {
		want = realloc(want, (nwant + 1) * PAGE);
		if (!want)
			err(1, "realloc");
		memcpy(want + nwant++ * PAGE, page, PAGE);
	}
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	mem = open(path, O_RDWR);
	if (mem < 0)
		err(1, "%s", path);
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	maps = fopen(path, "r");
	if (!maps)
		err(1, "%s", path);
	while (fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%llx-%llx %7s", &lo, &hi, perm) != 3 ||
		    perm[0] != 'r' || perm[1] != 'w')
			continue;
		for (a = lo; a < hi; a += PAGE) {
			if (pread(mem, page, PAGE, a) != PAGE)
				break;	/* a guard or an unreadable page */
			for (i = 0; i < nwant; i++)
				if (!memcmp(page, want + i * PAGE, PAGE))
					break;
			if (i == nwant)
				continue;
			/* a byte in the middle of a line */
			page[1000] ^= 0x5a;
			if (pwrite(mem, page + 1000, 1, a + 1000) != 1)
				err(1, "write at %#llx", a + 1000);
			changed++;
		}
	}
	fclose(maps);
	printf("%llu pages changed\n", changed);
	return changed ? 0 : 1;
}
