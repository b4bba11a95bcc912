# Installing the gateway (cmake --install, GNUInstallDirs places) and packaging it as a .deb (make deb, CPack).
# Included at the end of the top CMakeLists.txt, once every target exists. docs/operations.md, "Installing".
#
# The configuration lives in /etc/lienthong whatever the prefix (as an operator expects on Debian), so a
# /usr/local install from source and the /usr package name the same files; set CMAKE_INSTALL_SYSCONFDIR to
# change it. Paths are fixed at configure time (the unit names them): choose CMAKE_INSTALL_PREFIX then, not with
# `cmake --install --prefix`.
if(NOT DEFINED CMAKE_INSTALL_SYSCONFDIR)
  set(CMAKE_INSTALL_SYSCONFDIR /etc CACHE PATH "read-only single-machine data (the gateway's config: /etc/lienthong)")
endif()
if(NOT DEFINED CMAKE_INSTALL_LOCALSTATEDIR)
  set(CMAKE_INSTALL_LOCALSTATEDIR /var CACHE PATH "modifiable single-machine data (/var/lib/lienthong)")
endif()
include(GNUInstallDirs)

set(LT_CONFIG_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/lienthong)
set(LT_STATE_DIR ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/lienthong)
# systemd reads units from <prefix>/lib/systemd/system for /usr and /usr/local alike (systemd.unit(5)).
set(LT_UNIT_DIR lib/systemd/system)
set(LT_GATEWAY_PATH ${CMAKE_INSTALL_FULL_SBINDIR}/lienthong-gateway)
set(LT_DOC_DIR ${CMAKE_INSTALL_FULL_DOCDIR})
configure_file(${CMAKE_SOURCE_DIR}/config/lienthong-gateway.service.in ${CMAKE_BINARY_DIR}/lienthong-gateway.service
               @ONLY)

# The daemon in sbin (its page is in section 8), the operators' client in bin; lienthong-audit where it is built.
install(TARGETS lienthong-gateway RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS lienthong-ctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
set(LT_INSTALLED_TARGETS lienthong-gateway lienthong-ctl)
if(TARGET lienthong-audit)
  install(TARGETS lienthong-audit RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  list(APPEND LT_INSTALLED_TARGETS lienthong-audit)
endif()
# What `make deb` builds: the installed programs and nothing else (no tests).
add_custom_target(lt-installed DEPENDS ${LT_INSTALLED_TARGETS})

install(FILES ${CMAKE_BINARY_DIR}/lienthong-gateway.service DESTINATION ${LT_UNIT_DIR})
# The commented production sample; the operator copies it to gateway.json and fills it in (the package never
# writes gateway.json, so an upgrade cannot touch a live configuration).
install(FILES ${CMAKE_SOURCE_DIR}/config/production.json DESTINATION ${LT_CONFIG_DIR} RENAME gateway.json.sample)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB LT_DOCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${LT_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB LT_MAN8 CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/man/*.8)
install(FILES ${LT_MAN8} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)

# ---- the .deb (make deb configures a build with CMAKE_INSTALL_PREFIX=/usr) --------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME lienthong-gateway)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Liên Thông interoperability gateway between a province and the national systems")
set(CPACK_PACKAGE_DESCRIPTION "Serves a province's systems canonical JSON over mutual TLS and translates each call \
into the protocol of the national population, business, tax, insurance, land and civil-status systems and the \
payment gateway.")
set(CPACK_PACKAGE_CONTACT "Liên Thông operators <root@localhost>")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
# dpkg-shlibdeps works out the runtime libraries (libevent, OpenSSL, curl, libxml2, jansson, hiredis, utf8proc,
# libsystemd) from the binaries; adduser is the maintainer scripts' own, procps has the unit's ExecReload=/bin/kill
# (a minimal Debian 12 has no other kill program).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, procps")
configure_file(${CMAKE_SOURCE_DIR}/packaging/debian/postinst.in ${CMAKE_BINARY_DIR}/debian/postinst @ONLY)
configure_file(${CMAKE_SOURCE_DIR}/packaging/debian/prerm.in ${CMAKE_BINARY_DIR}/debian/prerm @ONLY)
configure_file(${CMAKE_SOURCE_DIR}/packaging/debian/postrm.in ${CMAKE_BINARY_DIR}/debian/postrm @ONLY)
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "${LT_CONFIG_DIR}/gateway.json.sample\n")
file(CHMOD ${CMAKE_BINARY_DIR}/debian/postinst ${CMAKE_BINARY_DIR}/debian/prerm ${CMAKE_BINARY_DIR}/debian/postrm
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/debian/postinst ${CMAKE_BINARY_DIR}/debian/prerm
                                       ${CMAKE_BINARY_DIR}/debian/postrm ${CMAKE_BINARY_DIR}/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
