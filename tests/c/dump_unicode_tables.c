/* Dumps every entry of simdup/_unicode_tables.h for tests/test_unicode_tables.py.
 *
 * Usage: dump_unicode_tables OUT.bin   (prints SD_UNICODE_VERSION on stdout)
 * OUT.bin, native byte order, N = 0x110000:
 *   uint8  class[N]; uint32 t2s[N]; uint8 fold_len[2][N] (lower = 0, then 1);
 *   uint32 fold_out[lower = 0] (all outputs of cp 0..N-1 concatenated), then lower = 1;
 *   then for cp in {0x110000, 0x7FFFFFFF, 0xFFFFFFFF}: uint32 class, t2s,
 *   fold length (lower = 1), its first output.
 * Exits 3 if sd_fold returns a bad length or writes past out[SD_FOLD_MAX - 1].
 */
#include <stdio.h>
#include <stdint.h>
#include "_unicode_tables.h"

#define N 0x110000u
#define CANARY 0xDEADBEEFu

static uint8_t cls[N];
static uint32_t t2s[N];
static uint8_t fold_len[2][N];

static int fold_checked(uint32_t cp, int lower, uint32_t out[SD_FOLD_MAX + 1])
{
    int n;
    out[SD_FOLD_MAX] = CANARY;
    n = sd_fold(cp, lower, out);
    if (n < 0 || n > SD_FOLD_MAX || out[SD_FOLD_MAX] != CANARY) {
        fprintf(stderr, "sd_fold(U+%04X, %d) returned %d\n", (unsigned)cp, lower, n);
        return -1;
    }
    return n;
}

int main(int argc, char **argv)
{
    static const uint32_t extra[3] = {0x110000u, 0x7FFFFFFFu, 0xFFFFFFFFu};
    uint32_t cp, out[SD_FOLD_MAX + 1], rec[4];
    int lower, n, i;
    FILE *f;

    if (argc != 2) return 2;
    f = fopen(argv[1], "wb");
    if (!f) return 2;
    for (cp = 0; cp < N; cp++) {
        cls[cp] = (uint8_t)sd_char_class(cp);
        t2s[cp] = sd_t2s(cp);
    }
    fwrite(cls, 1, N, f);
    fwrite(t2s, 4, N, f);
    for (lower = 0; lower < 2; lower++)
        for (cp = 0; cp < N; cp++) {
            n = fold_checked(cp, lower, out);
            if (n < 0) return 3;
            fold_len[lower][cp] = (uint8_t)n;
        }
    fwrite(fold_len, 1, sizeof fold_len, f);
    for (lower = 0; lower < 2; lower++)
        for (cp = 0; cp < N; cp++) {
            n = fold_checked(cp, lower, out);
            fwrite(out, 4, (size_t)n, f);
        }
    for (i = 0; i < 3; i++) {
        n = fold_checked(extra[i], 1, out);
        if (n < 0) return 3;
        rec[0] = (uint32_t)sd_char_class(extra[i]);
        rec[1] = sd_t2s(extra[i]);
        rec[2] = (uint32_t)n;
        rec[3] = n ? out[0] : 0;
        fwrite(rec, 4, 4, f);
    }
    if (fclose(f) != 0) return 2;
    printf("%s\n", SD_UNICODE_VERSION);
    return 0;
}
