# api: libskrull, the public C API (src/api/skrull.h, libskrull(3)) above
# sim and tune.  libskrull.a holds the api's objects and those of core,
# sched and sim, all position-independent (SK_PIC), so that the same
# archive makes the shared library: libskrull.so.MAJOR.MINOR.PATCH, its
# soname libskrull.so.MAJOR, exporting only what src/api/skrull.map lists
# (tests/api.sh holds the list against the header and nm -D).  The
# command keeps linking the layers' archives, the same objects.
SK_SO_MAJOR = 0
SK_SO_VERSION = 0.1.0
SK_SO = libskrull.so.$(SK_SO_VERSION)
lib_LIBRARIES = libskrull.a
include_HEADERS = src/api/skrull.h
libskrull_a_SOURCES = src/api/skrull_api.c src/api/skrull.h
libskrull_a_CPPFLAGS = $(SK_INC_API)
libskrull_a_CFLAGS = $(AM_CFLAGS) $(SK_PIC)
libskrull_a_LIBADD = $(libskrull_core_a_OBJECTS) \
	$(libskrull_sched_a_OBJECTS) $(libskrull_sim_a_OBJECTS)
libskrull_a_DEPENDENCIES = $(libskrull_a_LIBADD)
SK_API_LIBS = libskrull.a $(GLPK_LIBS) $(GSL_LIBS) $(CJSON_LIBS) \
	$(ZLIB_LIBS) $(LIBS)
EXTRA_DIST += src/api/skrull.map

$(SK_SO): libskrull.a $(srcdir)/src/api/skrull.map
	$(AM_V_CCLD)$(CCLD) -shared -Wl,-soname,libskrull.so.$(SK_SO_MAJOR) \
	    -Wl,--version-script=$(srcdir)/src/api/skrull.map \
	    $(AM_CFLAGS) $(CFLAGS) $(AM_LDFLAGS) $(LDFLAGS) -o $@ \
	    -Wl,--whole-archive libskrull.a -Wl,--no-whole-archive \
	    $(GLPK_LIBS) $(GSL_LIBS) $(CJSON_LIBS) $(ZLIB_LIBS) $(LIBS)
all-local: $(SK_SO)
CLEANFILES += $(SK_SO)

# The library file and its two links: the soname, which programs load,
# and libskrull.so, which -lskrull finds.  Installed into the system
# itself (no DESTDIR), the dynamic linker's cache is refreshed, so that a
# program linked with -lskrull runs at once (as libtool's install does);
# without the rights to, ldconfig fails and that is no error.
install-exec-local: $(SK_SO)
	$(MKDIR_P) '$(DESTDIR)$(libdir)'
	$(INSTALL) -m 755 $(SK_SO) '$(DESTDIR)$(libdir)/$(SK_SO)'
	cd '$(DESTDIR)$(libdir)' && rm -f libskrull.so.$(SK_SO_MAJOR) \
	    libskrull.so && ln -s $(SK_SO) libskrull.so.$(SK_SO_MAJOR) && \
	    ln -s libskrull.so.$(SK_SO_MAJOR) libskrull.so
	if test -z '$(DESTDIR)'; then ldconfig >/dev/null 2>&1 || :; fi
uninstall-local:
	rm -f '$(DESTDIR)$(libdir)/$(SK_SO)' \
	    '$(DESTDIR)$(libdir)/libskrull.so.$(SK_SO_MAJOR)' \
	    '$(DESTDIR)$(libdir)/libskrull.so'

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = skrull.pc
