/**
 * Every string the pages show, in English, German, Dutch and Swedish, and the
 * `Accept-Language` negotiation that picks one. Templates may hold `{name}`
 * placeholders; `formatHtml` escapes the template and fills them with HTML.
 */
import type { ErrorCode } from '../errors.ts';
import { escapeHtml } from './layout.ts';

export type Language = 'en' | 'de' | 'nl' | 'sv';

export const LANGUAGES: readonly Language[] = ['en', 'de', 'nl', 'sv'];
export const DEFAULT_LANGUAGE: Language = 'en';

const en = {
  'chooser.title': 'Sign in',
  'chooser.heading': 'Sign in to {title}',
  'chooser.intro': 'Choose how you want to sign in.',
  'chooser.options': 'Sign-in options',
  'chooser.lastUsed': 'Last used',
  'chooser.none': 'No sign-in method is set up for this site. Please contact your administrator.',
  'chooser.or': 'or',
  'homeRealm.heading': 'Sign in with your work email',
  'homeRealm.label': 'Work email address',
  'homeRealm.hint': "We'll take you to your organisation's sign-in page.",
  'homeRealm.submit': 'Continue',
  'signedIn.title': 'Signed in',
  'signedIn.heading': 'You are signed in',
  'signedIn.body': 'Taking you to the application.',
  'homeRealm.unknownDomain':
    "We don't recognise that email domain. Check the address or choose a sign-in option above.",

  'ref.error': 'Error {code}, reference {reference}. Quote the reference when you contact support.',
  'ref.reason': 'Reason {code}, reference {reference}. Quote the reference when you contact support.',
  'ref.only': 'Reference {reference}. Quote it when you contact support.',
  'action.retry': 'Try again',
  'action.signIn': 'Sign in again',
  'action.signOut': 'Sign out',

  'loggedOut.title': 'Signed out',
  'loggedOut.heading': 'You are signed out',
  'loggedOut.body': 'Your session has ended. On a shared computer, also close the browser.',
  'logoutConfirm.title': 'Sign out',
  'logoutConfirm.heading': 'Sign out?',
  'logoutConfirm.body': 'Do you want to end your session?',
  'logoutConfirm.submit': 'Sign out',

  'denied.title': 'Access denied',
  'denied.heading': "You don't have access",
  'denied.hint':
    'If you think this is a mistake, contact your administrator and quote the reference below. After signing out you can sign in with a different account.',
  'denied.group-not-allowed': 'Your account is not in a group that is allowed to use this application.',
  'denied.email-domain-not-allowed': 'The domain of your email address is not allowed for this application.',
  'denied.path-not-allowed':
    'You are signed in, but you are not allowed to open this part of the application.',
  'denied.user-deactivated': 'Your account has been deactivated.',
  'denied.user-unknown': 'Your account has not been set up for this application.',
  'denied.idp-mismatch':
    "Your account belongs to a different sign-in service. Sign out and choose your organisation's sign-in service.",
  'denied.identity-incomplete':
    'The sign-in service did not send all the details needed about your account (for example your email address).',
  'denied.generic': 'Your account does not have access to this application.',

  'mfa.heading': 'Multi-factor authentication required',
  'mfa.body':
    "This application requires a second factor at sign-in, such as an authenticator app or a security key, but your sign-in didn't use one. Sign in again and complete the extra step, or ask your administrator to set up multi-factor authentication for your account.",
  'tenant.heading': 'This site is not available right now',
  'tenant.body':
    'Sign-in for this organisation is switched off or outside its agreed period. Please try again later or contact your administrator.',
  'unknownSite.heading': 'Unknown site',
  'unknownSite.body': 'There is no application at this address. Please check the address you entered.',

  'error.internal.heading': 'Something went wrong',
  'error.internal.body':
    'An unexpected error occurred on our side. Please try again later; if it keeps happening, contact support.',
  'error.sessionTooLarge.heading': 'Sign-in could not be completed',
  'error.sessionTooLarge.body':
    'Your account sends more information than a sign-in can hold, usually because it belongs to a great many groups. Your administrator can limit the groups that are sent.',
  'error.idpUnknown.heading': 'This sign-in option does not exist',
  'error.idpUnknown.body':
    "The link you followed names a sign-in method this site doesn't offer. Start again from the application's address.",
  'error.idpUnavailable.heading': 'The sign-in service is not reachable',
  'error.idpUnavailable.body':
    "Your organisation's sign-in service did not respond or reported an error. Please try again in a moment.",
  'error.loginExpired.heading': 'Your sign-in expired',
  'error.loginExpired.body':
    'The sign-in took too long or was started in another browser window. Please start again.',
  'error.responseRefused.heading': 'Sign-in failed',
  'error.responseRefused.body':
    "The answer from your organisation's sign-in service could not be accepted. Please try again; if it keeps happening, contact support.",
  'error.idpError.heading': 'The sign-in service stopped the sign-in',
  'error.idpError.body':
    "Your organisation's sign-in service did not complete the sign-in, for example because it was cancelled or your account may not use this application.",
  'error.badRequest.heading': 'Invalid request',
  'error.badRequest.body':
    'Your browser sent a request that could not be processed. Go back to the application and try again.',
  'error.unauthenticated.heading': 'Sign-in required',
  'error.unauthenticated.body': 'You need to sign in to open this page.',
  'error.identityIncomplete.heading': 'Your account details are incomplete',
  'error.identityIncomplete.body':
    "The sign-in service did not send all the details this application needs about your account. Your administrator can fix this in the sign-in service's settings.",
  'error.upstream.heading': 'The application is not responding',
  'error.upstream.body': 'The application behind this sign-in did not answer. Please try again shortly.',
  'error.notFound.heading': 'Page not found',
  'error.notFound.body': 'There is nothing at this address. Check the address or go back to the application.',
  'error.methodNotAllowed.heading': 'This action is not possible here',
  'error.methodNotAllowed.body':
    "This page can't be used that way. Go back to the application and try again.",
} as const satisfies Record<string, string>;

export type MessageKey = keyof typeof en;
export type Messages = Readonly<Record<MessageKey, string>>;

const de: Messages = {
  'chooser.title': 'Anmelden',
  'chooser.heading': 'Bei {title} anmelden',
  'chooser.intro': 'Wählen Sie, wie Sie sich anmelden möchten.',
  'chooser.options': 'Anmeldeoptionen',
  'chooser.lastUsed': 'Zuletzt verwendet',
  'chooser.none':
    'Für diese Seite ist keine Anmeldemethode eingerichtet. Bitte wenden Sie sich an Ihre IT-Abteilung.',
  'chooser.or': 'oder',
  'homeRealm.heading': 'Mit der geschäftlichen E-Mail-Adresse anmelden',
  'homeRealm.label': 'Geschäftliche E-Mail-Adresse',
  'homeRealm.hint': 'Wir leiten Sie zur Anmeldeseite Ihrer Organisation weiter.',
  'homeRealm.submit': 'Weiter',
  'signedIn.title': 'Angemeldet',
  'signedIn.heading': 'Sie sind angemeldet',
  'signedIn.body': 'Sie werden zur Anwendung weitergeleitet.',
  'homeRealm.unknownDomain':
    'Diese E-Mail-Domain kennen wir nicht. Prüfen Sie die Adresse oder wählen Sie oben eine Anmeldeoption.',

  'ref.error':
    'Fehler {code}, Referenz {reference}. Bitte nennen Sie die Referenz, wenn Sie sich an den Support wenden.',
  'ref.reason':
    'Grund {code}, Referenz {reference}. Bitte nennen Sie die Referenz, wenn Sie sich an den Support wenden.',
  'ref.only': 'Referenz {reference}. Bitte nennen Sie sie, wenn Sie sich an den Support wenden.',
  'action.retry': 'Erneut versuchen',
  'action.signIn': 'Wieder anmelden',
  'action.signOut': 'Abmelden',

  'loggedOut.title': 'Abgemeldet',
  'loggedOut.heading': 'Sie sind abgemeldet',
  'loggedOut.body':
    'Ihre Sitzung wurde beendet. An einem gemeinsam genutzten Computer schließen Sie am besten auch den Browser.',
  'logoutConfirm.title': 'Abmelden',
  'logoutConfirm.heading': 'Abmelden?',
  'logoutConfirm.body': 'Möchten Sie Ihre Sitzung beenden?',
  'logoutConfirm.submit': 'Abmelden',

  'denied.title': 'Zugriff verweigert',
  'denied.heading': 'Sie haben keinen Zugriff',
  'denied.hint':
    'Wenn Sie das für einen Fehler halten, wenden Sie sich an Ihre IT-Abteilung und nennen Sie die Referenz unten. Nach dem Abmelden können Sie sich mit einem anderen Konto anmelden.',
  'denied.group-not-allowed': 'Ihr Konto gehört keiner Gruppe an, die für diese Anwendung freigegeben ist.',
  'denied.email-domain-not-allowed':
    'Die Domain Ihrer E-Mail-Adresse ist für diese Anwendung nicht zugelassen.',
  'denied.path-not-allowed': 'Sie sind angemeldet, dürfen diesen Bereich der Anwendung aber nicht öffnen.',
  'denied.user-deactivated': 'Ihr Konto wurde deaktiviert.',
  'denied.user-unknown': 'Ihr Konto ist für diese Anwendung nicht eingerichtet.',
  'denied.idp-mismatch':
    'Ihr Konto gehört zu einem anderen Anmeldedienst. Melden Sie sich ab und wählen Sie den Anmeldedienst Ihrer Organisation.',
  'denied.identity-incomplete':
    'Der Anmeldedienst hat nicht alle nötigen Angaben zu Ihrem Konto übermittelt (zum Beispiel die E-Mail-Adresse).',
  'denied.generic': 'Ihr Konto hat keinen Zugriff auf diese Anwendung.',

  'mfa.heading': 'Zwei-Faktor-Authentifizierung erforderlich',
  'mfa.body':
    'Für diese Anwendung brauchen Sie bei der Anmeldung einen zweiten Faktor, etwa eine Authenticator-App oder einen Sicherheitsschlüssel – Ihre Anmeldung kam ohne aus. Melden Sie sich erneut an und schließen Sie den zusätzlichen Schritt ab, oder bitten Sie Ihre IT-Abteilung, ihn für Ihr Konto einzurichten.',
  'tenant.heading': 'Diese Seite ist zurzeit nicht verfügbar',
  'tenant.body':
    'Die Anmeldung für diese Organisation ist abgeschaltet oder liegt außerhalb des vereinbarten Zeitraums. Bitte versuchen Sie es später erneut oder wenden Sie sich an Ihre IT-Abteilung.',
  'unknownSite.heading': 'Unbekannte Seite',
  'unknownSite.body':
    'Unter dieser Adresse gibt es keine Anwendung. Bitte prüfen Sie die eingegebene Adresse.',

  'error.internal.heading': 'Etwas ist schiefgelaufen',
  'error.internal.body':
    'Bei uns ist ein unerwarteter Fehler aufgetreten. Bitte versuchen Sie es später erneut; bleibt das Problem bestehen, wenden Sie sich an den Support.',
  'error.sessionTooLarge.heading': 'Die Anmeldung konnte nicht abgeschlossen werden',
  'error.sessionTooLarge.body':
    'Ihr Konto übermittelt mehr Angaben, als eine Anmeldung aufnehmen kann – meist, weil es sehr vielen Gruppen angehört. Ihre IT-Abteilung kann die übermittelten Gruppen einschränken.',
  'error.idpUnknown.heading': 'Diese Anmeldeoption gibt es nicht',
  'error.idpUnknown.body':
    'Der Link nennt eine Anmeldemethode, die diese Seite nicht anbietet. Beginnen Sie erneut über die Adresse der Anwendung.',
  'error.idpUnavailable.heading': 'Der Anmeldedienst ist nicht erreichbar',
  'error.idpUnavailable.body':
    'Der Anmeldedienst Ihrer Organisation hat nicht geantwortet oder einen Fehler gemeldet. Bitte versuchen Sie es gleich noch einmal.',
  'error.loginExpired.heading': 'Ihre Anmeldung ist abgelaufen',
  'error.loginExpired.body':
    'Die Anmeldung hat zu lange gedauert oder wurde in einem anderen Browserfenster begonnen. Bitte beginnen Sie von vorn.',
  'error.responseRefused.heading': 'Anmeldung fehlgeschlagen',
  'error.responseRefused.body':
    'Die Antwort des Anmeldedienstes Ihrer Organisation konnte nicht angenommen werden. Bitte versuchen Sie es erneut; bleibt das Problem bestehen, wenden Sie sich an den Support.',
  'error.idpError.heading': 'Der Anmeldedienst hat die Anmeldung abgebrochen',
  'error.idpError.body':
    'Der Anmeldedienst Ihrer Organisation hat die Anmeldung nicht abgeschlossen, etwa weil sie abgebrochen wurde oder Ihr Konto diese Anwendung nicht nutzen darf.',
  'error.badRequest.heading': 'Ungültige Anfrage',
  'error.badRequest.body':
    'Ihr Browser hat eine Anfrage gesendet, die nicht verarbeitet werden konnte. Kehren Sie zur Anwendung zurück und versuchen Sie es erneut.',
  'error.unauthenticated.heading': 'Anmeldung erforderlich',
  'error.unauthenticated.body': 'Bitte melden Sie sich an, um diese Seite zu öffnen.',
  'error.identityIncomplete.heading': 'Ihre Kontoangaben sind unvollständig',
  'error.identityIncomplete.body':
    'Der Anmeldedienst hat nicht alle Angaben zu Ihrem Konto übermittelt, die diese Anwendung braucht. Ihre IT-Abteilung kann das in den Einstellungen des Anmeldedienstes beheben.',
  'error.upstream.heading': 'Die Anwendung antwortet nicht',
  'error.upstream.body':
    'Die Anwendung hinter dieser Anmeldung hat nicht geantwortet. Bitte versuchen Sie es in Kürze erneut.',
  'error.notFound.heading': 'Seite nicht gefunden',
  'error.notFound.body':
    'Unter dieser Adresse gibt es nichts. Prüfen Sie die Adresse oder kehren Sie zur Anwendung zurück.',
  'error.methodNotAllowed.heading': 'Diese Aktion ist hier nicht möglich',
  'error.methodNotAllowed.body':
    'Diese Seite lässt sich so nicht verwenden. Kehren Sie zur Anwendung zurück und versuchen Sie es erneut.',
};

const nl: Messages = {
  'chooser.title': 'Inloggen',
  'chooser.heading': 'Inloggen bij {title}',
  'chooser.intro': 'Kies hoe je wilt inloggen.',
  'chooser.options': 'Inlogopties',
  'chooser.lastUsed': 'Laatst gebruikt',
  'chooser.none': 'Voor deze site is geen inlogmethode ingesteld. Neem contact op met je beheerder.',
  'chooser.or': 'of',
  'homeRealm.heading': 'Inloggen met je zakelijke e-mailadres',
  'homeRealm.label': 'Zakelijk e-mailadres',
  'homeRealm.hint': 'We sturen je door naar de inlogpagina van je organisatie.',
  'homeRealm.submit': 'Doorgaan',
  'signedIn.title': 'Ingelogd',
  'signedIn.heading': 'U bent ingelogd',
  'signedIn.body': 'U wordt doorgestuurd naar de applicatie.',
  'homeRealm.unknownDomain':
    'Dit e-maildomein kennen we niet. Controleer het adres of kies hierboven een inlogoptie.',

  'ref.error':
    'Fout {code}, referentie {reference}. Vermeld de referentie als je contact opneemt met support.',
  'ref.reason':
    'Reden {code}, referentie {reference}. Vermeld de referentie als je contact opneemt met support.',
  'ref.only': 'Referentie {reference}. Vermeld deze als je contact opneemt met support.',
  'action.retry': 'Opnieuw proberen',
  'action.signIn': 'Opnieuw inloggen',
  'action.signOut': 'Uitloggen',

  'loggedOut.title': 'Uitgelogd',
  'loggedOut.heading': 'Je bent uitgelogd',
  'loggedOut.body': 'Je sessie is beëindigd. Werk je op een gedeelde computer, sluit dan ook je browser.',
  'logoutConfirm.title': 'Uitloggen',
  'logoutConfirm.heading': 'Uitloggen?',
  'logoutConfirm.body': 'Wil je je sessie beëindigen?',
  'logoutConfirm.submit': 'Uitloggen',

  'denied.title': 'Geen toegang',
  'denied.heading': 'Je hebt geen toegang',
  'denied.hint':
    'Klopt dit volgens jou niet? Neem contact op met je beheerder en vermeld de referentie hieronder. Na het uitloggen kun je met een ander account inloggen.',
  'denied.group-not-allowed': 'Je account is geen lid van een groep die deze applicatie mag gebruiken.',
  'denied.email-domain-not-allowed': 'Het domein van je e-mailadres is niet toegestaan voor deze applicatie.',
  'denied.path-not-allowed': 'Je bent ingelogd, maar je mag dit deel van de applicatie niet openen.',
  'denied.user-deactivated': 'Je account is gedeactiveerd.',
  'denied.user-unknown': 'Je account is niet ingericht voor deze applicatie.',
  'denied.idp-mismatch':
    'Je account hoort bij een andere inlogdienst. Log uit en kies de inlogdienst van je organisatie.',
  'denied.identity-incomplete':
    'De inlogdienst heeft niet alle benodigde gegevens van je account meegestuurd (bijvoorbeeld je e-mailadres).',
  'denied.generic': 'Je account heeft geen toegang tot deze applicatie.',

  'mfa.heading': 'Tweefactorauthenticatie vereist',
  'mfa.body':
    'Voor deze applicatie moet je inloggen met een tweede factor, zoals een authenticator-app of een beveiligingssleutel, maar bij het inloggen is die niet gebruikt. Log opnieuw in en rond de extra stap af, of vraag je beheerder om tweefactorauthenticatie voor je account in te stellen.',
  'tenant.heading': 'Deze site is op dit moment niet beschikbaar',
  'tenant.body':
    'Inloggen voor deze organisatie staat uit of valt buiten de afgesproken periode. Probeer het later opnieuw of neem contact op met je beheerder.',
  'unknownSite.heading': 'Onbekende site',
  'unknownSite.body': 'Op dit adres staat geen applicatie. Controleer het adres dat je hebt ingevoerd.',

  'error.internal.heading': 'Er ging iets mis',
  'error.internal.body':
    'Er is aan onze kant een onverwachte fout opgetreden. Probeer het later opnieuw; blijft het probleem bestaan, neem dan contact op met support.',
  'error.sessionTooLarge.heading': 'Inloggen kon niet worden afgerond',
  'error.sessionTooLarge.body':
    'Je account stuurt meer gegevens mee dan een inlogsessie kan bevatten, meestal omdat het lid is van heel veel groepen. Je beheerder kan beperken welke groepen worden meegestuurd.',
  'error.idpUnknown.heading': 'Deze inlogoptie bestaat niet',
  'error.idpUnknown.body':
    'De link verwijst naar een inlogmethode die deze site niet aanbiedt. Begin opnieuw via het adres van de applicatie.',
  'error.idpUnavailable.heading': 'De inlogdienst is niet bereikbaar',
  'error.idpUnavailable.body':
    'De inlogdienst van je organisatie reageerde niet of gaf een foutmelding. Probeer het zo meteen opnieuw.',
  'error.loginExpired.heading': 'Je inlogpoging is verlopen',
  'error.loginExpired.body':
    'Het inloggen duurde te lang of is in een ander browservenster gestart. Begin opnieuw.',
  'error.responseRefused.heading': 'Inloggen mislukt',
  'error.responseRefused.body':
    'Het antwoord van de inlogdienst van je organisatie kon niet worden geaccepteerd. Probeer het opnieuw; blijft het probleem bestaan, neem dan contact op met support.',
  'error.idpError.heading': 'De inlogdienst heeft het inloggen afgebroken',
  'error.idpError.body':
    'De inlogdienst van je organisatie heeft het inloggen niet afgerond, bijvoorbeeld omdat het is geannuleerd of omdat je account deze applicatie niet mag gebruiken.',
  'error.badRequest.heading': 'Ongeldig verzoek',
  'error.badRequest.body':
    'Je browser stuurde een verzoek dat niet verwerkt kon worden. Ga terug naar de applicatie en probeer het opnieuw.',
  'error.unauthenticated.heading': 'Inloggen vereist',
  'error.unauthenticated.body': 'Je moet inloggen om deze pagina te openen.',
  'error.identityIncomplete.heading': 'Je accountgegevens zijn onvolledig',
  'error.identityIncomplete.body':
    'De inlogdienst heeft niet alle gegevens over je account meegestuurd die deze applicatie nodig heeft. Je beheerder kan dit oplossen in de instellingen van de inlogdienst.',
  'error.upstream.heading': 'De applicatie reageert niet',
  'error.upstream.body':
    'De applicatie achter deze inlogpagina gaf geen antwoord. Probeer het straks opnieuw.',
  'error.notFound.heading': 'Pagina niet gevonden',
  'error.notFound.body': 'Op dit adres staat niets. Controleer het adres of ga terug naar de applicatie.',
  'error.methodNotAllowed.heading': 'Deze actie is hier niet mogelijk',
  'error.methodNotAllowed.body':
    'Deze pagina kan zo niet worden gebruikt. Ga terug naar de applicatie en probeer het opnieuw.',
};

const sv: Messages = {
  'chooser.title': 'Logga in',
  'chooser.heading': 'Logga in på {title}',
  'chooser.intro': 'Välj hur du vill logga in.',
  'chooser.options': 'Inloggningsalternativ',
  'chooser.lastUsed': 'Senast använd',
  'chooser.none':
    'Inget inloggningssätt är konfigurerat för den här webbplatsen. Kontakta din administratör.',
  'chooser.or': 'eller',
  'homeRealm.heading': 'Logga in med din jobbmejl',
  'homeRealm.label': 'E-postadress på jobbet',
  'homeRealm.hint': 'Vi skickar dig vidare till din organisations inloggningssida.',
  'homeRealm.submit': 'Fortsätt',
  'signedIn.title': 'Inloggad',
  'signedIn.heading': 'Du är inloggad',
  'signedIn.body': 'Du skickas vidare till programmet.',
  'homeRealm.unknownDomain':
    'Vi känner inte igen den e-postdomänen. Kontrollera adressen eller välj ett inloggningsalternativ ovan.',

  'ref.error': 'Fel {code}, referens {reference}. Ange referensen när du kontaktar supporten.',
  'ref.reason': 'Orsak {code}, referens {reference}. Ange referensen när du kontaktar supporten.',
  'ref.only': 'Referens {reference}. Ange den när du kontaktar supporten.',
  'action.retry': 'Försök igen',
  'action.signIn': 'Logga in igen',
  'action.signOut': 'Logga ut',

  'loggedOut.title': 'Utloggad',
  'loggedOut.heading': 'Du är utloggad',
  'loggedOut.body': 'Din session har avslutats. Sitter du vid en delad dator, stäng också webbläsaren.',
  'logoutConfirm.title': 'Logga ut',
  'logoutConfirm.heading': 'Logga ut?',
  'logoutConfirm.body': 'Vill du avsluta din session?',
  'logoutConfirm.submit': 'Logga ut',

  'denied.title': 'Åtkomst nekad',
  'denied.heading': 'Du har inte åtkomst',
  'denied.hint':
    'Tror du att det är fel? Kontakta din administratör och ange referensen nedan. När du har loggat ut kan du logga in med ett annat konto.',
  'denied.group-not-allowed': 'Ditt konto är inte med i någon grupp som får använda den här applikationen.',
  'denied.email-domain-not-allowed': 'Domänen i din e-postadress är inte tillåten för den här applikationen.',
  'denied.path-not-allowed': 'Du är inloggad, men du får inte öppna den här delen av applikationen.',
  'denied.user-deactivated': 'Ditt konto har inaktiverats.',
  'denied.user-unknown': 'Ditt konto är inte upplagt för den här applikationen.',
  'denied.idp-mismatch':
    'Ditt konto hör till en annan inloggningstjänst. Logga ut och välj din organisations inloggningstjänst.',
  'denied.identity-incomplete':
    'Inloggningstjänsten skickade inte alla uppgifter som behövs om ditt konto (till exempel e-postadressen).',
  'denied.generic': 'Ditt konto har inte åtkomst till den här applikationen.',

  'mfa.heading': 'Tvåstegsverifiering krävs',
  'mfa.body':
    'Den här applikationen kräver en andra faktor vid inloggning, till exempel en autentiseringsapp eller en säkerhetsnyckel, men din inloggning gjordes utan. Logga in igen och slutför det extra steget, eller be din administratör att aktivera tvåstegsverifiering för ditt konto.',
  'tenant.heading': 'Webbplatsen är inte tillgänglig just nu',
  'tenant.body':
    'Inloggningen för den här organisationen är avstängd eller ligger utanför den avtalade perioden. Försök igen senare eller kontakta din administratör.',
  'unknownSite.heading': 'Okänd webbplats',
  'unknownSite.body': 'Det finns ingen applikation på den här adressen. Kontrollera adressen du angav.',

  'error.internal.heading': 'Något gick fel',
  'error.internal.body':
    'Ett oväntat fel uppstod hos oss. Försök igen senare. Om felet kvarstår, kontakta supporten.',
  'error.sessionTooLarge.heading': 'Inloggningen kunde inte slutföras',
  'error.sessionTooLarge.body':
    'Ditt konto skickar med mer information än en inloggning rymmer, oftast för att det är med i väldigt många grupper. Din administratör kan begränsa vilka grupper som skickas.',
  'error.idpUnknown.heading': 'Inloggningsalternativet finns inte',
  'error.idpUnknown.body':
    'Länken pekar på ett inloggningssätt som den här webbplatsen inte erbjuder. Börja om från applikationens adress.',
  'error.idpUnavailable.heading': 'Inloggningstjänsten går inte att nå',
  'error.idpUnavailable.body':
    'Din organisations inloggningstjänst svarade inte eller svarade med ett fel. Försök igen om en stund.',
  'error.loginExpired.heading': 'Inloggningen har gått ut',
  'error.loginExpired.body':
    'Inloggningen tog för lång tid eller påbörjades i ett annat webbläsarfönster. Börja om från början.',
  'error.responseRefused.heading': 'Inloggningen misslyckades',
  'error.responseRefused.body':
    'Svaret från din organisations inloggningstjänst kunde inte godtas. Försök igen. Om felet kvarstår, kontakta supporten.',
  'error.idpError.heading': 'Inloggningstjänsten avbröt inloggningen',
  'error.idpError.body':
    'Din organisations inloggningstjänst slutförde inte inloggningen, till exempel för att den avbröts eller för att ditt konto inte får använda den här applikationen.',
  'error.badRequest.heading': 'Ogiltig begäran',
  'error.badRequest.body':
    'Din webbläsare skickade en begäran som inte kunde behandlas. Gå tillbaka till applikationen och försök igen.',
  'error.unauthenticated.heading': 'Inloggning krävs',
  'error.unauthenticated.body': 'Du behöver logga in för att öppna den här sidan.',
  'error.identityIncomplete.heading': 'Dina kontouppgifter är ofullständiga',
  'error.identityIncomplete.body':
    'Inloggningstjänsten skickade inte alla uppgifter om ditt konto som den här applikationen behöver. Din administratör kan rätta det i inloggningstjänstens inställningar.',
  'error.upstream.heading': 'Applikationen svarar inte',
  'error.upstream.body': 'Applikationen bakom den här inloggningen svarade inte. Försök igen om en stund.',
  'error.notFound.heading': 'Sidan hittades inte',
  'error.notFound.body':
    'Det finns ingenting på den här adressen. Kontrollera adressen eller gå tillbaka till applikationen.',
  'error.methodNotAllowed.heading': 'Det går inte att göra så här',
  'error.methodNotAllowed.body':
    'Sidan kan inte användas på det här sättet. Gå tillbaka till applikationen och försök igen.',
};

/** Every string, keyed by language. The `Messages` type makes a missing or extra key a compile error. */
export const CATALOGUE: Readonly<Record<Language, Messages>> = { en, de, nl, sv };

/** Heading and explanation for each error code; codes that share wording share keys. */
export interface ErrorText {
  readonly heading: MessageKey;
  readonly body: MessageKey;
}

type ErrorGroup = MessageKey extends infer K ? (K extends `error.${infer G}.heading` ? G : never) : never;

function errorText(group: ErrorGroup): ErrorText {
  return { heading: `error.${group}.heading`, body: `error.${group}.body` };
}

export const ERROR_TEXT: Readonly<Record<ErrorCode, ErrorText>> = {
  ERR_CONFIG_INVALID: errorText('internal'),
  ERR_SIGNING_FAILED: errorText('internal'),
  ERR_INTERNAL: errorText('internal'),
  ERR_SESSION_TOO_LARGE: errorText('sessionTooLarge'),
  ERR_TENANT_UNKNOWN: { heading: 'unknownSite.heading', body: 'unknownSite.body' },
  ERR_TENANT_UNAVAILABLE: { heading: 'tenant.heading', body: 'tenant.body' },
  ERR_IDP_UNKNOWN: errorText('idpUnknown'),
  ERR_IDP_UNAVAILABLE: errorText('idpUnavailable'),
  ERR_OIDC_STATE_MISMATCH: errorText('loginExpired'),
  ERR_LOGIN_EXPIRED: errorText('loginExpired'),
  ERR_OIDC_CALLBACK_INVALID: errorText('responseRefused'),
  ERR_SAML_RESPONSE_INVALID: errorText('responseRefused'),
  ERR_OIDC_IDP_ERROR: errorText('idpError'),
  ERR_SAML_IDP_STATUS: errorText('idpError'),
  ERR_LOGOUT_TOKEN_INVALID: errorText('badRequest'),
  ERR_PAYLOAD_INVALID: errorText('badRequest'),
  ERR_BAD_REQUEST: errorText('badRequest'),
  ERR_UNAUTHENTICATED: errorText('unauthenticated'),
  ERR_IDENTITY_INCOMPLETE: errorText('identityIncomplete'),
  ERR_ACCESS_DENIED: { heading: 'denied.heading', body: 'denied.generic' },
  ERR_MFA_REQUIRED: { heading: 'mfa.heading', body: 'mfa.body' },
  ERR_UPSTREAM_UNAVAILABLE: errorText('upstream'),
  ERR_STORE_UNAVAILABLE: errorText('internal'),
  ERR_NOT_FOUND: errorText('notFound'),
  ERR_METHOD_NOT_ALLOWED: errorText('methodNotAllowed'),
};

/** Access-denied reasons with their own wording; any other reason gets `denied.generic`. */
export const DENIED_REASONS: readonly string[] = [
  'group-not-allowed',
  'email-domain-not-allowed',
  'path-not-allowed',
  'user-deactivated',
  'user-unknown',
  'idp-mismatch',
  'identity-incomplete',
];

export function deniedReasonKey(reason: string): MessageKey {
  return DENIED_REASONS.includes(reason) ? (`denied.${reason}` as MessageKey) : 'denied.generic';
}

/** The plain-text message (not escaped). */
export function t(lang: Language, key: MessageKey): string {
  return CATALOGUE[lang][key];
}

/**
 * The message as HTML: the template is escaped, then each `{name}` is replaced
 * by `html[name]`, which the caller has already made safe.
 */
export function formatHtml(
  lang: Language,
  key: MessageKey,
  html: Readonly<Record<string, string>> = {},
): string {
  return escapeHtml(t(lang, key)).replace(/\{([a-zA-Z]+)\}/g, (whole, name: string) => html[name] ?? whole);
}

const MAX_LANGUAGE_RANGES = 32;

/**
 * Picks the page language from an `Accept-Language` header (RFC 9110 §12.5.4):
 * ranges in order of q-value (ties keep header order), a range's primary
 * subtag decides (`de-CH` → de, `sv-SE` → sv), `q=0` rules a range out, and
 * anything unsupported (`nb`, `fr`, `*`) falls back to English.
 */
export function negotiateLanguage(acceptLanguage: string | undefined): Language {
  if (!acceptLanguage) return DEFAULT_LANGUAGE;
  const ranges: { lang: string; q: number; order: number }[] = [];
  for (const [order, part] of acceptLanguage.split(',').slice(0, MAX_LANGUAGE_RANGES).entries()) {
    const [rangeText = '', ...params] = part.split(';');
    const range = rangeText.trim().toLowerCase();
    if (!/^(\*|[a-z]{1,8}(-[a-z0-9]{1,8})*)$/.test(range)) continue;
    let q = 1;
    for (const param of params) {
      const match = /^\s*q\s*=\s*([0-9](?:\.[0-9]{0,3})?)\s*$/i.exec(param);
      if (match) q = Number(match[1]);
    }
    if (!(q > 0) || q > 1) continue;
    ranges.push({ lang: range.split('-')[0] ?? '', q, order });
  }
  ranges.sort((a, b) => b.q - a.q || a.order - b.order);
  for (const { lang } of ranges) {
    if ((LANGUAGES as readonly string[]).includes(lang)) return lang as Language;
  }
  return DEFAULT_LANGUAGE;
}
