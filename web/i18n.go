package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	xlanguage "golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// The HTML pages (the public form and the board) speak English and
// Spanish, chosen by the browser's Accept-Language, or by ?lang= so a
// customer site can embed the form in the language of its own page. Every
// string a page shows is in both catalogs (a test checks it), and the form's
// script gets the ones it needs from the page, so nothing a person reads is
// hard-coded in Go or JavaScript.

// Languages the pages speak; the first is the fallback.
var pageLanguages = []xlanguage.Tag{xlanguage.English, xlanguage.Spanish}

var pageMatcher = xlanguage.NewMatcher(pageLanguages)

// pageLanguage picks "en" or "es" for the request.
func pageLanguage(r *http.Request) string {
	if l := strings.ToLower(r.URL.Query().Get("lang")); l == "en" || l == "es" {
		return l
	}
	tags, _, err := xlanguage.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return "en"
	}
	_, i, _ := pageMatcher.Match(tags...)
	base, _ := pageLanguages[i].Base()
	return base.String()
}

// tr looks up key in lang's catalog and fills its {name} placeholders from
// kv (name, value, name, value…). A missing key shows itself, which the
// catalog test forbids, rather than an empty string nobody notices.
func tr(lang, key string, kv ...string) string {
	s, ok := catalog[lang][key]
	if !ok {
		if s, ok = catalog["en"][key]; !ok {
			return key
		}
	}
	if len(kv) == 0 {
		return s
	}
	pairs := make([]string, 0, len(kv))
	for i := 0; i+1 < len(kv); i += 2 {
		pairs = append(pairs, "{"+kv[i]+"}", kv[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// pageBase is what every page's template data starts with: its language
// and the lookup, so a template says {{.T "form.title"}} (or $.T in a loop).
type pageBase struct {
	Lang string
}

// T is tr in the page's language.
func (p pageBase) T(key string, kv ...string) string { return tr(p.Lang, key, kv...) }

// regionName names a region ("ES") in lang ("Spain", "España"), or returns
// the code when it has no name.
func regionName(lang, code string) string {
	r, err := xlanguage.ParseRegion(code)
	if err != nil {
		return code
	}
	tag := xlanguage.English
	if lang == "es" {
		tag = xlanguage.Spanish
	}
	if n := display.Regions(tag).Name(r); n != "" {
		return n
	}
	return code
}

var (
	weekdays = map[string][7]string{
		"en": {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		"es": {"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"},
	}
	months = map[string][12]string{
		"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		"es": {"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
	}
)

// shortName is the first three letters of a day or month name, as the
// compact forms read ("Mon 24 Nov", "lun 24 nov").
func shortName(s string) string {
	r := []rune(s)
	if len(r) > 3 {
		r = r[:3]
	}
	return string(r)
}

// longDate says a day in full: "Monday 24 November", "lunes 24 de noviembre".
func longDate(lang string, t time.Time) string {
	if lang == "es" {
		return fmt.Sprintf("%s %d de %s", weekdays["es"][t.Weekday()], t.Day(), months["es"][t.Month()-1])
	}
	return fmt.Sprintf("%s %d %s", weekdays["en"][t.Weekday()], t.Day(), months["en"][t.Month()-1])
}

// shortDate says a day compactly: "Mon 24 Nov", "lun 24 nov".
func shortDate(lang string, t time.Time) string {
	if lang != "es" {
		lang = "en"
	}
	return fmt.Sprintf("%s %d %s", shortName(weekdays[lang][t.Weekday()]), t.Day(), shortName(months[lang][t.Month()-1]))
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// clockTime says t in loc as a person reads it on the page: the time alone
// when it is today there, with a short date otherwise.
func clockTime(lang string, t, now time.Time, loc *time.Location) string {
	l := t.In(loc)
	if sameDay(l, now.In(loc)) {
		return l.Format("15:04")
	}
	return shortDate(lang, l) + ", " + l.Format("15:04")
}

// timeRange says [from, to] in loc with its zone: "10:00–10:25 CET", or
// with the date when it is not today, or both dates when it spans days.
func timeRange(lang string, from, to, now time.Time, loc *time.Location) string {
	f, t := from.In(loc), to.In(loc)
	zone := t.Format("MST")
	if sameDay(f, t) {
		prefix := ""
		if !sameDay(f, now.In(loc)) {
			prefix = shortDate(lang, f) + ", "
		}
		return prefix + f.Format("15:04") + "–" + t.Format("15:04") + " " + zone
	}
	return clockTime(lang, from, now, loc) + " – " + clockTime(lang, to, now, loc) + " " + zone
}

// catalog holds every string of the pages by language and key. Keys are
// grouped by page: form.*, err.* (the form's error messages, by API error
// code), result.*, board.*, login.*, state.*, risk.*.
var catalog = map[string]map[string]string{
	"en": {
		"form.title":        "Request a callback",
		"form.intro":        "Leave your number and we will call you back. You keep your place in line without waiting on the phone.",
		"form.number":       "Phone number",
		"form.number.hint":  "Numbers without a + prefix are read as numbers in {country} (+{code}). For example: {example}.",
		"form.number.intl":  "Write it with its international prefix, for example +44 20 7946 0000.",
		"form.name":         "Your name",
		"form.optional":     "optional",
		"form.reason":       "What is it about?",
		"form.when":         "When should we call?",
		"form.asap":         "As soon as possible",
		"form.asap.closed":  "As soon as possible (we are closed now: the first time we can keep once we open)",
		"form.slot":         "At a time I choose",
		"form.slot.label":   "Time",
		"form.slot.none":    "No times can be chosen right now.",
		"form.slot.zone":    "Times are in {zone}.",
		"form.submit":       "Call me back",
		"form.sending":      "Sending…",
		"form.errors":       "Please correct the following:",
		"form.unavailable":  "Callback requests are not available here.",
		"form.another":      "Request another callback",
		"err.missing_field": "Enter your phone number.",
		"err.invalid_number": "That is not a valid phone number. Check it, or write it with its " +
			"international prefix (+44…).",
		"err.premium_rate":        "We cannot call premium-rate numbers. Give a landline or mobile number.",
		"err.shared_cost":         "We cannot call shared-cost numbers. Give a landline or mobile number.",
		"err.country_not_allowed": "We can only call numbers in {countries}.",
		"err.slot":                "That time can no longer be offered. Choose another one, or as soon as possible.",
		"err.slot_missing":        "Choose a time, or as soon as possible.",
		"err.rate_limited":        "Too many requests. Please try again in {seconds} seconds.",
		"err.duplicate":           "This number already has a callback pending.",
		"err.unknown_queue":       "Callback requests are not available here.",
		"err.body_too_large":      "The request is too long. Shorten the name or the reason.",
		"err.origin_not_allowed":  "This page may not send callback requests.",
		"err.internal":            "Something went wrong on our side. Please try again in a moment.",
		"err.network":             "We could not be reached. Check your connection and try again.",
		"result.title":            "Thank you. We will call you back.",
		"result.existing":         "You had already asked for a callback; it is still in place.",
		"result.position":         "You are number {position} in line.",
		"result.scheduled":        "We will call you at the time you chose.",
		"result.firstslot":        "We are closed now. We will call you at the first time we can keep once we open.",
		"result.place":            "Place in line",
		"result.window":           "We will call you",
		"result.keep":             "Keep your phone at hand. You do not need to call us again.",
		"login.title":             "Promise board: sign in",
		"login.token":             "API token",
		"login.token.hint":        "One of the tokens in VHOLD_API_TOKENS.",
		"login.name":              "Your name",
		"login.name.hint":         "Shown as the owner of the callbacks you take.",
		"login.submit":            "Sign in",
		"login.bad":               "That token is not accepted here.",
		"login.notokens":          "This vhold has no API tokens (VHOLD_API_TOKENS), so nobody can sign in.",
		"login.noname":            "Enter your name.",
		"login.limited":           "Too many attempts. Try again in {seconds} seconds.",
		"login.expired":           "Your session has ended. Sign in again.",
		"board.title":             "Promise board",
		"board.signedin":          "Signed in as {name}",
		"board.logout":            "Sign out",
		"board.live":              "Live",
		"board.offline":           "Reconnecting…",
		"board.static":            "Updates need JavaScript; reload the page to see changes.",
		"board.reload":            "Reload",
		"board.updated":           "Updated {time}",
		"board.queues":            "Queues",
		"board.queue":             "Queue",
		"board.onhold":            "On hold",
		"board.pending":           "Callbacks pending",
		"board.scheduled":         "Scheduled",
		"board.staffed":           "Agents staffed",
		"board.metrics":           "Promises, last 7 days",
		"board.m.promised":        "Promised",
		"board.m.inside":          "Called inside the original window",
		"board.m.recovered":       "Delayed, told before the deadline",
		"board.m.second":          "Second windows met",
		"board.m.chased":          "Customers who chased",
		"board.m.none":            "No store: the figures need vhold's database.",
		"board.m.error":           "The figures could not be read: {error}",
		"board.m.of":              "{n} of {total}",
		"board.callbacks":         "Callbacks",
		"board.empty":             "No open callbacks, and none finished in the last hour.",
		"board.c.id":              "#",
		"board.c.customer":        "Customer",
		"board.c.category":        "Category",
		"board.c.promised":        "Promised by",
		"board.c.risk":            "Promise",
		"board.c.owner":           "Owner",
		"board.c.recovery":        "Recovery message",
		"board.c.reset":           "Reset deadline",
		"board.c.attempts":        "Attempts",
		"board.c.outcome":         "Outcome",
		"board.c.actions":         "Actions",
		"board.take":              "Take",
		"board.take.label":        "Take ownership of callback {id}",
		"board.resolve":           "Resolved in writing",
		"board.resolve.label":     "Mark callback {id} resolved in writing",
		"board.cancel":            "Cancel",
		"board.cancel.label":      "Cancel callback {id}",
		"board.none":              "—",
		"board.nobody":            "nobody",
		"board.position":          "{state}, place {position}",
		"board.done.take":         "You own callback {id}.",
		"board.done.resolve":      "Callback {id} is resolved in writing.",
		"board.done.cancel":       "Callback {id} is cancelled.",
		"board.csrf":              "The page was out of date; reload it and try again.",
		"risk.ok":                 "On time",
		"risk.at_risk":            "At risk",
		"risk.escalated":          "Escalated",
		"risk.missed":             "Missed",
		"state.waiting":           "waiting",
		"state.reserved":          "agent reserved",
		"state.dialing":           "dialing",
		"state.connected":         "connected",
		"state.completed":         "completed",
		"state.abandoned":         "abandoned",
		"state.cancelled":         "cancelled",
		"state.failed":            "failed",
		"state.expired":           "expired",
	},
	"es": {
		"form.title":        "Solicitar una llamada",
		"form.intro":        "Déjanos tu número y te llamaremos. Conservas tu turno en la cola sin esperar al teléfono.",
		"form.number":       "Número de teléfono",
		"form.number.hint":  "Los números sin prefijo + se leen como números de {country} (+{code}). Por ejemplo: {example}.",
		"form.number.intl":  "Escríbelo con su prefijo internacional, por ejemplo +44 20 7946 0000.",
		"form.name":         "Tu nombre",
		"form.optional":     "opcional",
		"form.reason":       "¿De qué se trata?",
		"form.when":         "¿Cuándo te llamamos?",
		"form.asap":         "Lo antes posible",
		"form.asap.closed":  "Lo antes posible (ahora estamos cerrados: la primera hora que podamos cumplir al abrir)",
		"form.slot":         "A la hora que yo elija",
		"form.slot.label":   "Hora",
		"form.slot.none":    "Ahora mismo no se puede elegir ninguna hora.",
		"form.slot.zone":    "Las horas están en {zone}.",
		"form.submit":       "Llamadme",
		"form.sending":      "Enviando…",
		"form.errors":       "Corrige lo siguiente:",
		"form.unavailable":  "Aquí no se pueden solicitar llamadas.",
		"form.another":      "Solicitar otra llamada",
		"err.missing_field": "Escribe tu número de teléfono.",
		"err.invalid_number": "Ese número de teléfono no es válido. Revísalo o escríbelo con su " +
			"prefijo internacional (+44…).",
		"err.premium_rate":        "No podemos llamar a números de tarificación especial. Indica un fijo o un móvil.",
		"err.shared_cost":         "No podemos llamar a números de coste compartido. Indica un fijo o un móvil.",
		"err.country_not_allowed": "Solo podemos llamar a números de {countries}.",
		"err.slot":                "Ya no podemos ofrecer esa hora. Elige otra, o lo antes posible.",
		"err.slot_missing":        "Elige una hora, o lo antes posible.",
		"err.rate_limited":        "Demasiadas solicitudes. Vuelve a intentarlo dentro de {seconds} segundos.",
		"err.duplicate":           "Este número ya tiene una llamada pendiente.",
		"err.unknown_queue":       "Aquí no se pueden solicitar llamadas.",
		"err.body_too_large":      "La solicitud es demasiado larga. Acorta el nombre o el motivo.",
		"err.origin_not_allowed":  "Esta página no puede enviar solicitudes de llamada.",
		"err.internal":            "Algo ha fallado por nuestra parte. Vuelve a intentarlo en un momento.",
		"err.network":             "No hemos podido conectar. Revisa tu conexión y vuelve a intentarlo.",
		"result.title":            "Gracias. Te llamaremos.",
		"result.existing":         "Ya habías pedido una llamada; sigue en pie.",
		"result.position":         "Eres el número {position} de la cola.",
		"result.scheduled":        "Te llamaremos a la hora que elegiste.",
		"result.firstslot":        "Ahora estamos cerrados. Te llamaremos a la primera hora que podamos cumplir cuando abramos.",
		"result.place":            "Puesto en la cola",
		"result.window":           "Te llamaremos",
		"result.keep":             "Ten el teléfono a mano. No hace falta que vuelvas a llamarnos.",
		"login.title":             "Panel de promesas: acceso",
		"login.token":             "Token de la API",
		"login.token.hint":        "Uno de los tokens de VHOLD_API_TOKENS.",
		"login.name":              "Tu nombre",
		"login.name.hint":         "Aparece como responsable de las llamadas que asumas.",
		"login.submit":            "Entrar",
		"login.bad":               "Ese token no se acepta aquí.",
		"login.notokens":          "Este vhold no tiene tokens de la API (VHOLD_API_TOKENS), así que nadie puede entrar.",
		"login.noname":            "Escribe tu nombre.",
		"login.limited":           "Demasiados intentos. Vuelve a intentarlo dentro de {seconds} segundos.",
		"login.expired":           "Tu sesión ha terminado. Vuelve a entrar.",
		"board.title":             "Panel de promesas",
		"board.signedin":          "Sesión de {name}",
		"board.logout":            "Salir",
		"board.live":              "En directo",
		"board.offline":           "Reconectando…",
		"board.static":            "Las actualizaciones necesitan JavaScript; recarga la página para ver los cambios.",
		"board.reload":            "Recargar",
		"board.updated":           "Actualizado a las {time}",
		"board.queues":            "Colas",
		"board.queue":             "Cola",
		"board.onhold":            "En espera",
		"board.pending":           "Llamadas pendientes",
		"board.scheduled":         "Programadas",
		"board.staffed":           "Agentes disponibles",
		"board.metrics":           "Promesas, últimos 7 días",
		"board.m.promised":        "Prometidas",
		"board.m.inside":          "Llamadas dentro del plazo original",
		"board.m.recovered":       "Retrasadas, avisadas antes del plazo",
		"board.m.second":          "Segundos plazos cumplidos",
		"board.m.chased":          "Clientes que reclamaron",
		"board.m.none":            "Sin base de datos: las cifras necesitan la base de datos de vhold.",
		"board.m.error":           "No se han podido leer las cifras: {error}",
		"board.m.of":              "{n} de {total}",
		"board.callbacks":         "Llamadas",
		"board.empty":             "No hay llamadas abiertas ni terminadas en la última hora.",
		"board.c.id":              "N.º",
		"board.c.customer":        "Cliente",
		"board.c.category":        "Categoría",
		"board.c.promised":        "Prometida para",
		"board.c.risk":            "Promesa",
		"board.c.owner":           "Responsable",
		"board.c.recovery":        "Mensaje de recuperación",
		"board.c.reset":           "Nuevo plazo",
		"board.c.attempts":        "Intentos",
		"board.c.outcome":         "Resultado",
		"board.c.actions":         "Acciones",
		"board.take":              "Asumir",
		"board.take.label":        "Asumir la llamada {id}",
		"board.resolve":           "Resuelta por escrito",
		"board.resolve.label":     "Marcar la llamada {id} como resuelta por escrito",
		"board.cancel":            "Cancelar",
		"board.cancel.label":      "Cancelar la llamada {id}",
		"board.none":              "—",
		"board.nobody":            "nadie",
		"board.position":          "{state}, puesto {position}",
		"board.done.take":         "Ahora eres responsable de la llamada {id}.",
		"board.done.resolve":      "La llamada {id} está resuelta por escrito.",
		"board.done.cancel":       "La llamada {id} está cancelada.",
		"board.csrf":              "La página estaba desactualizada; recárgala y vuelve a intentarlo.",
		"risk.ok":                 "A tiempo",
		"risk.at_risk":            "En riesgo",
		"risk.escalated":          "Escalada",
		"risk.missed":             "Incumplida",
		"state.waiting":           "en espera",
		"state.reserved":          "agente reservado",
		"state.dialing":           "llamando",
		"state.connected":         "conectada",
		"state.completed":         "completada",
		"state.abandoned":         "abandonada",
		"state.cancelled":         "cancelada",
		"state.failed":            "fallida",
		"state.expired":           "caducada",
	},
}
