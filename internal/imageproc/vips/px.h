// px.h: the coarse C helpers behind package vips. Each helper is one cgo
// crossing for one pipeline step; none of them retains Go memory.
#ifndef PIXCDN_PX_H
#define PIXCDN_PX_H

#include <stdlib.h>
#include <vips/vips.h>

typedef struct {
	char loader[64];
	int width, height, pages, page_height, orientation, alpha, bands;
	int has_exif, has_icc;
	char interpretation[32];
} px_header;

// px_cancel is a reference-counted cancel flag shared by the Go timer and
// every eval signal connection that watches it.
typedef struct {
	volatile int cancelled;
	volatile int refs;
} px_cancel;

int px_init(int concurrency);
size_t px_tracked_mem(void);
int px_trim(void);
char *px_error(void);

int px_probe(const void *buf, size_t len, px_header *h);
void px_describe(VipsImage *im, px_header *h);

int px_thumbnail(const void *buf, size_t len, int width, int height, int size, int no_rotate, VipsImage **out);
int px_load(const void *buf, size_t len, int shrink, int all_pages, int sequential, VipsImage **out);
int px_resize(VipsImage *in, int width, int height, VipsImage **out);
int px_autorot(VipsImage *in, VipsImage **out);
int px_materialize(VipsImage *in, VipsImage **out);
int px_extract(VipsImage *in, int x, int y, int w, int h, VipsImage **out);
int px_smartcrop(VipsImage *in, int w, int h, VipsImage **out);
int px_embed(VipsImage *in, int x, int y, int w, int h, double r, double g, double b, double a, VipsImage **out);
int px_rot(VipsImage *in, int angle, VipsImage **out);
int px_flip(VipsImage *in, int horizontal, VipsImage **out);
int px_blur(VipsImage *in, double sigma, VipsImage **out);
int px_sharpen(VipsImage *in, double sigma, VipsImage **out);
int px_linear(VipsImage *in, double a, double b, VipsImage **out);
int px_flatten(VipsImage *in, double r, double g, double b, VipsImage **out);
int px_composite(VipsImage *base, VipsImage *mark, int x, int y, double opacity, VipsImage **out);
int px_srgb(VipsImage *in, VipsImage **out);
int px_join(VipsImage **pages, int n, VipsImage **out);
int px_copy_memory(VipsImage *in, VipsImage **out);
double px_avg(VipsImage *in, int x, int y, int w, int h, double *bands, double *devs, int nbands);

int px_save(VipsImage *in, int format, int quality, int effort, int lossless, int progressive, void **buf, size_t *len);

px_cancel *px_cancel_new(void);
void px_cancel_set(px_cancel *c);
void px_cancel_unref(px_cancel *c);
void px_watch(VipsImage *im, px_cancel *c);

void px_unref(VipsImage *im);

enum { PX_JPEG = 1, PX_PNG, PX_WEBP, PX_AVIF, PX_GIF };

#endif
