// px.c: coarse libvips helpers for package vips. Every function that makes
// an image returns 0 and sets *out, or -1 with the reason in libvips' error
// buffer; inputs are never unreferenced here (the Go side owns them).
#include <malloc.h>
#include <string.h>
#include "px.h"
#include "_cgo_export.h"

static void px_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer user) {
	pxGoLog((char *)(domain ? domain : ""), (int)level, (char *)msg);
}

int px_init(int concurrency) {
	// glibc gives each thread that allocates its own arena; libvips' worker threads
	// then leave freed pixel buffers spread over many arenas, and RSS creeps up under a
	// long mixed load. Two arenas keep it bounded (imgproxy recommends the same).
	mallopt(M_ARENA_MAX, 2);
	if (VIPS_INIT("pixcdn"))
		return -1;
	// Our own cache holds outputs; libvips' operation cache would only grow.
	vips_cache_set_max(0);
	vips_cache_set_max_mem(0);
	vips_cache_set_max_files(0);
	vips_concurrency_set(concurrency);
	vips_block_untrusted_set(TRUE);
	// Block every loader, then open the five families we serve: a source
	// that sniffs as anything else (svg, pdf, tiff, magick...) finds no loader.
	vips_operation_block_set("VipsForeignLoad", TRUE);
	vips_operation_block_set("VipsForeignLoadJpeg", FALSE);
	vips_operation_block_set("VipsForeignLoadPng", FALSE);
	vips_operation_block_set("VipsForeignLoadWebp", FALSE);
	vips_operation_block_set("VipsForeignLoadNsgif", FALSE);
	vips_operation_block_set("VipsForeignLoadHeif", FALSE);
	g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
		px_log, NULL);
	return 0;
}

size_t px_tracked_mem(void) { return vips_tracked_get_mem(); }

int px_trim(void) { return malloc_trim(0); }

char *px_error(void) { return vips_error_buffer_copy(); }

void px_unref(VipsImage *im) {
	if (im)
		g_object_unref(im);
}

void px_describe(VipsImage *im, px_header *h) {
	h->width = im->Xsize;
	h->height = vips_image_get_page_height(im);
	h->pages = vips_image_get_n_pages(im);
	h->page_height = vips_image_get_page_height(im);
	h->orientation = vips_image_get_orientation(im);
	h->alpha = vips_image_hasalpha(im);
	h->bands = im->Bands;
	h->has_exif = vips_image_get_typeof(im, VIPS_META_EXIF_NAME) != 0;
	h->has_icc = vips_image_get_typeof(im, VIPS_META_ICC_NAME) != 0;
	g_strlcpy(h->interpretation, vips_enum_nick(VIPS_TYPE_INTERPRETATION, im->Type), sizeof(h->interpretation));
}

// px_probe names the loader and reads the header; libvips loads lazily, so
// no pixel is decoded here.
// px_allowed: the loader classes px_init left unblocked. find_load sniffs
// with every loader, blocked or not, so callers check before loading.
static int px_allowed(const char *loader) {
	static const char *allowed[] = {"VipsForeignLoadJpeg", "VipsForeignLoadPng", "VipsForeignLoadWebp",
		"VipsForeignLoadNsgif", "VipsForeignLoadHeif", NULL};
	for (int i = 0; allowed[i]; i++)
		if (g_str_has_prefix(loader, allowed[i]))
			return 1;
	return 0;
}

// px_probe returns -2 when no allowed loader recognises buf.
int px_probe(const void *buf, size_t len, px_header *h) {
	const char *loader = vips_foreign_find_load_buffer(buf, len);
	if (!loader)
		return -2;
	g_strlcpy(h->loader, loader, sizeof(h->loader));
	if (!px_allowed(loader)) {
		vips_error("pixcdn", "loader %s is not allowed", loader);
		return -2;
	}
	VipsImage *im = vips_image_new_from_buffer(buf, len, "", NULL);
	if (!im)
		return -1;
	px_describe(im, h);
	g_object_unref(im);
	return 0;
}

static int px_free_cb(void *a, void *b) {
	g_free(a);
	return 0;
}

// px_source copies buf into C memory owned by a blob: lazy loaders read the
// source after the cgo call has returned, so they must not see Go memory.
static VipsSource *px_source(const void *buf, size_t len) {
	void *copy = g_malloc(len);
	memcpy(copy, buf, len);
	VipsBlob *blob = vips_blob_new(px_free_cb, copy, len);
	VipsSource *src = vips_source_new_from_blob(blob);
	vips_area_unref(VIPS_AREA(blob));
	return src;
}

int px_thumbnail(const void *buf, size_t len, int width, int height, int size, int no_rotate, VipsImage **out) {
	VipsSource *src = px_source(buf, len);
	if (!src)
		return -1;
	int r = vips_thumbnail_source(src, out, width, "height", height, "size", size, "no_rotate", no_rotate,
		"option_string", "fail_on=truncated", NULL);
	g_object_unref(src);
	return r;
}

int px_load(const void *buf, size_t len, int shrink, int all_pages, int sequential, VipsImage **out) {
	VipsSource *src = px_source(buf, len);
	if (!src)
		return -1;
	const char *loader = vips_foreign_find_load_source(src);
	if (!loader || !px_allowed(loader)) {
		g_object_unref(src);
		return -2;
	}
	// A truncated source is an error, not an image with a grey bottom.
	char opts[96] = "fail_on=truncated";
	if (all_pages && (strstr(loader, "gif") || strstr(loader, "Webp")))
		g_strlcpy(opts, "fail_on=truncated,n=-1", sizeof(opts));
	else if (shrink > 1 && strstr(loader, "Jpeg"))
		g_snprintf(opts, sizeof(opts), "fail_on=truncated,shrink=%d", shrink);
	else if (shrink > 1 && strstr(loader, "Webp"))
		g_snprintf(opts, sizeof(opts), "fail_on=truncated,scale=%g", 1.0 / shrink);
	// Sequential: the decoder feeds the pipeline strip by strip during save, instead of
	// decoding the whole image into a buffer of its own first.
	if (sequential)
		g_strlcat(opts, ",access=sequential", sizeof(opts));
	*out = vips_image_new_from_source(src, opts, NULL);
	g_object_unref(src);
	return *out ? 0 : -1;
}

// px_resize scales in to width x height with vips_resize (lanczos3). An image with alpha is
// resized premultiplied, in the floats vips_premultiply makes. (imgproxy casts them back to 8
// bits before the resize, which the vector code resamples in 10-15 % less of the whole job's
// CPU for a 1024x768 PNG to 512 px WebP; but a colour times a small alpha keeps only a few
// levels in 8 bits, the unpremultiplied colours of faint pixels come out noisy, and the WebP
// grew 12-21 % on the benchmark sources, at no better SSIM: not worth it for a variant made
// once and served from the cache many times.)
int px_resize(VipsImage *in, int width, int height, VipsImage **out) {
	double hscale = (double)width / in->Xsize, vscale = (double)height / in->Ysize;
	if (!vips_image_hasalpha(in))
		return vips_resize(in, out, hscale, "vscale", vscale, NULL);
	VipsBandFormat format = in->BandFmt;
	VipsImage *base = vips_image_new();
	VipsImage **t = (VipsImage **)vips_object_local_array(VIPS_OBJECT(base), 3);
	int r = vips_premultiply(in, &t[0], NULL) || vips_resize(t[0], &t[1], hscale, "vscale", vscale, NULL) ||
		vips_unpremultiply(t[1], &t[2], NULL) || vips_cast(t[2], out, format, NULL);
	g_object_unref(base);
	return r ? -1 : 0;
}

int px_autorot(VipsImage *in, VipsImage **out) { return vips_autorot(in, out, NULL); }

// px_materialize computes in into memory, for steps that read pixels out of
// order (rotation, smart crop) after a sequential load.
int px_materialize(VipsImage *in, VipsImage **out) {
	*out = vips_image_copy_memory(in);
	return *out ? 0 : -1;
}

int px_extract(VipsImage *in, int x, int y, int w, int h, VipsImage **out) {
	return vips_extract_area(in, out, x, y, w, h, NULL);
}

int px_smartcrop(VipsImage *in, int w, int h, VipsImage **out) {
	return vips_smartcrop(in, out, w, h, "interesting", VIPS_INTERESTING_ATTENTION, NULL);
}

// px_background fills v with the colour for in's bands (grey, grey+alpha, rgb, rgba).
static int px_background(VipsImage *in, double r, double g, double b, double a, double *v) {
	switch (in->Bands) {
	case 1: v[0] = r; return 1;
	case 2: v[0] = r; v[1] = a; return 2;
	case 3: v[0] = r; v[1] = g; v[2] = b; return 3;
	default: v[0] = r; v[1] = g; v[2] = b; v[3] = a; return 4;
	}
}

int px_embed(VipsImage *in, int x, int y, int w, int h, double r, double g, double b, double a, VipsImage **out) {
	VipsImage *src = in, *alpha = NULL;
	if (a < 255 && !vips_image_hasalpha(in)) {
		if (vips_bandjoin_const1(in, &alpha, 255, NULL))
			return -1;
		src = alpha;
	}
	double v[4];
	int n = px_background(src, r, g, b, a, v);
	VipsArrayDouble *bg = vips_array_double_new(v, n);
	int res = vips_embed(src, out, x, y, w, h, "extend", VIPS_EXTEND_BACKGROUND, "background", bg, NULL);
	vips_area_unref(VIPS_AREA(bg));
	px_unref(alpha);
	return res;
}

int px_rot(VipsImage *in, int angle, VipsImage **out) {
	VipsAngle a = angle == 90 ? VIPS_ANGLE_D90 : angle == 180 ? VIPS_ANGLE_D180 : VIPS_ANGLE_D270;
	return vips_rot(in, out, a, NULL);
}

int px_flip(VipsImage *in, int horizontal, VipsImage **out) {
	return vips_flip(in, out, horizontal ? VIPS_DIRECTION_HORIZONTAL : VIPS_DIRECTION_VERTICAL, NULL);
}

int px_blur(VipsImage *in, double sigma, VipsImage **out) { return vips_gaussblur(in, out, sigma, NULL); }

int px_sharpen(VipsImage *in, double sigma, VipsImage **out) {
	VipsImage *t = NULL;
	if (vips_sharpen(in, &t, "sigma", sigma, NULL))
		return -1;
	// sharpen answers in LabS; come back to the sRGB the later steps expect.
	int r = vips_colourspace(t, out, VIPS_INTERPRETATION_sRGB, NULL);
	g_object_unref(t);
	return r;
}

// px_linear applies out = a*in + b to the colour bands, leaving alpha alone,
// and clips back to 8 bits.
int px_linear(VipsImage *in, double a, double b, VipsImage **out) {
	VipsImage *base = vips_image_new();
	VipsImage **t = (VipsImage **)vips_object_local_array(VIPS_OBJECT(base), 3);
	int alpha = vips_image_hasalpha(in);
	int n = in->Bands - (alpha ? 1 : 0);
	VipsImage *colour = in;
	double av[4], bv[4];
	for (int i = 0; i < 4; i++) {
		av[i] = a;
		bv[i] = b;
	}
	if (alpha) {
		if (vips_extract_band(in, &t[0], 0, "n", n, NULL) || vips_extract_band(in, &t[1], n, NULL))
			goto fail;
		colour = t[0];
	}
	if (vips_linear(colour, &t[2], av, bv, n, "uchar", TRUE, NULL))
		goto fail;
	if (alpha) {
		if (vips_bandjoin2(t[2], t[1], out, NULL))
			goto fail;
	} else {
		*out = t[2];
		g_object_ref(*out);
	}
	g_object_unref(base);
	return 0;
fail:
	g_object_unref(base);
	return -1;
}

int px_flatten(VipsImage *in, double r, double g, double b, VipsImage **out) {
	if (!vips_image_hasalpha(in)) {
		*out = in;
		g_object_ref(in);
		return 0;
	}
	double v[3] = {r, g, b};
	VipsArrayDouble *bg = vips_array_double_new(v, in->Bands == 2 ? 1 : 3);
	int res = vips_flatten(in, out, "background", bg, NULL);
	vips_area_unref(VIPS_AREA(bg));
	return res;
}

// px_composite draws mark over base at (x, y) with its alpha scaled by
// opacity (0..1). The result keeps base's bands: an opaque base stays opaque.
int px_composite(VipsImage *base, VipsImage *mark, int x, int y, double opacity, VipsImage **out) {
	VipsImage *holder = vips_image_new();
	VipsImage **t = (VipsImage **)vips_object_local_array(VIPS_OBJECT(holder), 5);
	VipsImage *m = mark;
	if (!vips_image_hasalpha(m)) {
		if (vips_bandjoin_const1(m, &t[0], 255, NULL))
			goto fail;
		m = t[0];
	}
	if (opacity < 1) {
		double a[4] = {1, 1, 1, opacity}, b[4] = {0, 0, 0, 0};
		if (vips_linear(m, &t[1], a, b, 4, "uchar", TRUE, NULL))
			goto fail;
		m = t[1];
	}
	if (vips_composite2(base, m, &t[2], VIPS_BLEND_MODE_OVER, "x", x, "y", y, NULL) ||
		vips_cast(t[2], &t[3], VIPS_FORMAT_UCHAR, NULL))
		goto fail;
	if (!vips_image_hasalpha(base)) {
		if (vips_extract_band(t[3], out, 0, "n", base->Bands, NULL))
			goto fail;
	} else {
		*out = t[3];
		g_object_ref(*out);
	}
	g_object_unref(holder);
	return 0;
fail:
	g_object_unref(holder);
	return -1;
}

// px_srgb brings any source to 8-bit sRGB (3 bands, or 4 with alpha), through
// the embedded ICC profile when there is a usable one.
int px_srgb(VipsImage *in, VipsImage **out) {
	VipsImage *holder = vips_image_new();
	VipsImage **t = (VipsImage **)vips_object_local_array(VIPS_OBJECT(holder), 3);
	VipsImage *cur = in;
	if (vips_image_get_typeof(in, VIPS_META_ICC_NAME)) {
		if (vips_icc_transform(in, &t[0], "srgb", "embedded", TRUE, "intent", VIPS_INTENT_PERCEPTUAL, NULL) == 0)
			cur = t[0];
		else
			vips_error_clear(); // a broken profile: fall back to the colourspace guess
	}
	if (cur->Type != VIPS_INTERPRETATION_sRGB || cur->Bands < 3) {
		if (vips_colourspace(cur, &t[1], VIPS_INTERPRETATION_sRGB, NULL))
			goto fail;
		cur = t[1];
	}
	if (cur->BandFmt != VIPS_FORMAT_UCHAR) {
		if (vips_cast(cur, &t[2], VIPS_FORMAT_UCHAR, NULL))
			goto fail;
		cur = t[2];
	}
	*out = cur;
	g_object_ref(cur);
	g_object_unref(holder);
	return 0;
fail:
	g_object_unref(holder);
	return -1;
}

int px_join(VipsImage **pages, int n, VipsImage **out) {
	if (vips_arrayjoin(pages, out, n, "across", 1, NULL))
		return -1;
	vips_image_set_int(*out, VIPS_META_PAGE_HEIGHT, pages[0]->Ysize);
	vips_image_set_int(*out, VIPS_META_N_PAGES, n);
	return 0;
}

double px_avg(VipsImage *in, int x, int y, int w, int h, double *bands, double *devs, int nbands) {
	VipsImage *area = NULL;
	if (vips_extract_area(in, &area, x, y, w, h, NULL))
		return -1;
	int n = area->Bands < nbands ? area->Bands : nbands;
	for (int i = 0; i < n; i++) {
		VipsImage *band = NULL;
		if (vips_extract_band(area, &band, i, NULL) || vips_avg(band, &bands[i], NULL) ||
			vips_deviate(band, &devs[i], NULL)) {
			px_unref(band);
			g_object_unref(area);
			return -1;
		}
		g_object_unref(band);
	}
	g_object_unref(area);
	return n;
}

// px_strip_fields removes the metadata a served image must not carry (EXIF,
// XMP, IPTC, the ICC profile of pixels already converted to sRGB); the
// savers' own strip is not honoured by every saver of 8.14.
static int px_strip_fields(VipsImage *in, VipsImage **out) {
	if (vips_copy(in, out, NULL))
		return -1;
	gchar **fields = vips_image_get_fields(*out);
	for (int i = 0; fields[i]; i++) {
		const char *f = fields[i];
		if (g_str_has_prefix(f, "exif-") || g_str_has_prefix(f, "xmp-") || g_str_has_prefix(f, "iptc-") ||
			g_str_has_prefix(f, "icc-") || g_str_equal(f, VIPS_META_ORIENTATION) ||
			g_str_has_prefix(f, "jpeg-") || g_str_has_prefix(f, "png-comment") || g_str_has_prefix(f, "heif-"))
			vips_image_remove(*out, f);
	}
	g_strfreev(fields);
	return 0;
}

static int px_encode(VipsImage *in, int format, int quality, int effort, int lossless, int progressive, void **buf,
	size_t *len);

int px_save(VipsImage *in, int format, int quality, int effort, int lossless, int progressive, void **buf, size_t *len) {
	VipsImage *clean = NULL;
	if (px_strip_fields(in, &clean))
		return -1;
	int r = px_encode(clean, format, quality, effort, lossless, progressive, buf, len);
	g_object_unref(clean);
	return r;
}

static int px_encode(VipsImage *in, int format, int quality, int effort, int lossless, int progressive, void **buf,
	size_t *len) {
	switch (format) {
	case PX_JPEG:
		return vips_jpegsave_buffer(in, buf, len, "Q", quality, "interlace", progressive, "optimize_coding", TRUE,
			"strip", TRUE, "subsample_mode", VIPS_FOREIGN_SUBSAMPLE_AUTO, NULL);
	case PX_PNG:
		return vips_pngsave_buffer(in, buf, len, "compression", effort, "strip", TRUE, NULL);
	case PX_WEBP:
		return vips_webpsave_buffer(in, buf, len, "Q", quality, "effort", effort, "lossless", lossless,
			"strip", TRUE, NULL);
	case PX_AVIF:
		return vips_heifsave_buffer(in, buf, len, "Q", quality, "compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1,
			"effort", effort, "lossless", lossless, "strip", TRUE, NULL);
	case PX_GIF:
		return vips_gifsave_buffer(in, buf, len, "effort", effort, "strip", TRUE, NULL);
	}
	vips_error("pixcdn", "unknown output format %d", format);
	return -1;
}

static void px_eval_cb(VipsImage *im, VipsProgress *p, void *user) {
	px_cancel *c = user;
	if (__atomic_load_n(&c->cancelled, __ATOMIC_ACQUIRE) && p && p->im)
		vips_image_set_kill(p->im, TRUE);
}

px_cancel *px_cancel_new(void) {
	px_cancel *c = g_new0(px_cancel, 1);
	c->refs = 1;
	return c;
}

void px_cancel_set(px_cancel *c) { __atomic_store_n(&c->cancelled, 1, __ATOMIC_RELEASE); }

void px_cancel_unref(px_cancel *c) {
	if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
		g_free(c);
}

static void px_cancel_destroy(gpointer data, GClosure *closure) { px_cancel_unref(data); }

// px_watch makes im report evaluation progress to c: every image computed
// downstream of im signals "eval" on im, and the handler kills the image
// being evaluated once c is set.
void px_watch(VipsImage *im, px_cancel *c) {
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
	im->progress_signal = im;
	g_signal_connect_data(im, "eval", G_CALLBACK(px_eval_cb), c, px_cancel_destroy, 0);
}
